// OCR on a dilated ResNet, with openseg.pytorch's SpatialOCRNet names: `dsn_head` turns the
// stride-16 stage (at output stride 8 the same resolution as the last) into soft object regions,
// the auxiliary output supervised at 0.4; `conv_3x3` turns the last stage into pixel features;
// the OCR modules (spatial-ocr.ts) augment them and `head` classifies.
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { bnRelu, gatherRegions, SpatialOCR } from './spatial-ocr.js';

export interface OCRNetOptions {
  classes: number;
  midChannels?: number;
  keyChannels?: number;
}

export class OCRNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly conv_3x3: nn.Sequential;
  declare readonly spatial_ocr_head: SpatialOCR;
  declare readonly head: nn.Conv2d;
  declare readonly dsn_head: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, midChannels = 512, keyChannels = 256 }: OCRNetOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const [, , , c3, c4] = encoder.channels;
    this.registerModule('conv_3x3', new nn.Sequential(new nn.Conv2d(c4, midChannels, 3, { padding: 1 }), bnRelu(midChannels)));
    this.registerModule('spatial_ocr_head', new SpatialOCR(midChannels, keyChannels, midChannels));
    this.registerModule('head', new nn.Conv2d(midChannels, classes, 1));
    this.registerModule('dsn_head', new nn.Sequential(
      new nn.Conv2d(c3, midChannels, 3, { padding: 1 }), bnRelu(midChannels), new nn.Dropout2d(0.05), new nn.Conv2d(midChannels, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const feats = this.conv_3x3.forward(f[4]);
    // regions at the pixel features' resolution (they differ only at output stride 32)
    const regions = resizeTo(this.dsn_head.forward(f[3]), feats.shape.slice(2));
    const out = this.head.forward(this.spatial_ocr_head.augment(feats, gatherRegions(regions, feats)));
    const outputs: ModelOutputs = { out: resizeTo(out, x.shape.slice(2)) };
    if (this.training) outputs.aux = resizeTo(regions, x.shape.slice(2));
    return outputs;
  }
}
