// FCN-32s / 16s / 8s (Long et al. 2015) over any encoder: a score layer on the stride-32
// features, fused with score layers on the stride-16 (16s) and stride-8 (8s) features, then
// upsampled to the input. Upsampling is bilinear interpolation (the paper's fixed-bilinear
// initialization of its learned deconvolutions, without learning them).
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export type FCNVariant = '32s' | '16s' | '8s';

export interface FCNOptions {
  classes: number;
  variant?: FCNVariant;
}

export class FCN extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly head: nn.Sequential;
  declare readonly score16?: nn.Conv2d;
  declare readonly score8?: nn.Conv2d;
  readonly classes: number;
  readonly variant: FCNVariant;

  constructor(encoder: Encoder, { classes, variant = '8s' }: FCNOptions) {
    super();
    this.classes = classes;
    this.variant = variant;
    this.registerModule('encoder', encoder);
    // A light stand-in for fc6/fc7: conv3x3-BN-ReLU and dropout before the stride-32 scores.
    this.registerModule('head', new nn.Sequential(convBnRelu(encoder.channels[4], 512, 3), new nn.Dropout2d(0.1), new nn.Conv2d(512, classes, 1)));
    if (variant !== '32s') this.registerModule('score16', new nn.Conv2d(encoder.channels[3], classes, 1));
    if (variant === '8s') this.registerModule('score8', new nn.Conv2d(encoder.channels[2], classes, 1));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    let score = this.head.forward(f[4]);
    if (this.score16) score = resizeTo(score, f[3].shape.slice(2)).add(this.score16.forward(f[3]));
    if (this.score8) score = resizeTo(score, f[2].shape.slice(2)).add(this.score8.forward(f[2]));
    return { out: resizeTo(score, x.shape.slice(2)) };
  }
}
