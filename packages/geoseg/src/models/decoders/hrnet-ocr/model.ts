// OCR, object-contextual representations (Yuan et al. 2020), on HRNetV2, with the official
// HRNet-Semantic-Segmentation (HRNet-OCR branch) names. From the concatenated stride-4 features:
// `aux_head` gives soft object regions (the auxiliary output, supervised at 0.4), `conv3x3_ocr`
// the pixel features, the OCR modules (../ocrnet/spatial-ocr.ts) the augmented representation
// that `cls_head` classifies.
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { joinBranches, joinedChannels } from '../../encoders/hrnet.js';
import { gatherRegions, SpatialOCR } from '../ocrnet/spatial-ocr.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export interface HRNetOCROptions {
  classes: number;
  /** Channels of the pixel representation (512) and of the attention's keys (256). */
  midChannels?: number;
  keyChannels?: number;
}

export class HRNetOCR extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly conv3x3_ocr: nn.Sequential;
  declare readonly ocr_distri_head: SpatialOCR;
  declare readonly cls_head: nn.Conv2d;
  declare readonly aux_head: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, midChannels = 512, keyChannels = 256 }: HRNetOCROptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = joinedChannels(encoder);
    this.registerModule('conv3x3_ocr', new nn.Sequential(new nn.Conv2d(c, midChannels, 3, { padding: 1 }), new nn.BatchNorm2d(midChannels), new nn.ReLU(true)));
    this.registerModule('ocr_distri_head', new SpatialOCR(midChannels, keyChannels, midChannels));
    this.registerModule('cls_head', new nn.Conv2d(midChannels, classes, 1));
    this.registerModule('aux_head', new nn.Sequential(new nn.Conv2d(c, c, 1), new nn.BatchNorm2d(c), new nn.ReLU(true), new nn.Conv2d(c, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    const joined = joinBranches(this.encoder.forward(x));
    const regions = this.aux_head.forward(joined); // [N, K, H, W] soft object regions
    const feats = this.conv3x3_ocr.forward(joined);
    const out = this.cls_head.forward(this.ocr_distri_head.augment(feats, gatherRegions(regions, feats)));
    const outputs: ModelOutputs = { out: resizeTo(out, x.shape.slice(2)) };
    if (this.training) outputs.aux = resizeTo(regions, x.shape.slice(2));
    return outputs;
  }
}
