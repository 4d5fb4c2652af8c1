// FarSeg (Zheng et al., CVPR 2020) in the reference design (Z-Zheng/FarSeg, not torchgeo's port):
// semantic FPN whose pyramid levels pass through the foreground-scene relation module (`sr`, fed by
// the pooled stride-32 features) before the light-weight asymmetric decoder. Names as the
// reference's (fpn, sr, decoder, cls_pred_conv); its loss is the annealing softmax focal loss
// (`annealing_focal`, the architecture's default loss).
import type { Tensor } from '@geoseg/torch';
import { nn } from '@geoseg/torch';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { AsymmetricDecoder } from '../fpn/asymmetric-decoder.js';
import { FeaturePyramid } from '../fpn/feature-pyramid.js';
import { pyramidInputs, upsample4, type PyramidHeadOptions } from '../fpn/model.js';
import { SceneRelation } from './scene-relation.js';

export interface FarSegOptions extends PyramidHeadOptions {
  /** One scene projection per pyramid level (true, the paper's) or one shared. */
  scaleAware?: boolean;
}

export class FarSeg extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly fpn: FeaturePyramid;
  declare readonly sr: SceneRelation;
  declare readonly decoder: AsymmetricDecoder;
  declare readonly cls_pred_conv: nn.Conv2d;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, pyramidChannels = 256, decoderChannels = 128, scaleAware = true }: FarSegOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('fpn', new FeaturePyramid(encoder.channels.slice(1, 5), pyramidChannels));
    this.registerModule('sr', new SceneRelation(encoder.channels[4]!, [1, 2, 3, 4].map(() => pyramidChannels), pyramidChannels, scaleAware));
    this.registerModule('decoder', new AsymmetricDecoder(pyramidChannels, decoderChannels));
    this.registerModule('cls_pred_conv', new nn.Conv2d(decoderChannels, classes, 1));
  }

  protected run(x: Tensor): ModelOutputs {
    const features = pyramidInputs(this.encoder.forward(x));
    const related = this.sr.forward(features[3]!, this.fpn.forward(features));
    return { out: upsample4(this.cls_pred_conv.forward(this.decoder.forward(related))) };
  }
}
