// RefineNet (4-cascade; Lin et al. 2017) on an encoder, the FactSeg repository's baseline with its
// names: the strides 4–32 reduced by 3×3 convolutions (`layer1_rn..layer4_rn`, to `features` 256,
// the deepest to 2 · features), refined from the deepest up (`refinenet4..1`: RCUs, fusion with
// the next finer path, chained residual pooling), two RCUs and a 1×1 classifier (`output_conv`)
// at stride 4, upsampled ×4 (bilinear, align_corners true).
import { nn, type Tensor } from '@geoseg/torch';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { upsample4 } from '../fpn/model.js';
import { RefineNetBlock, ResidualConvUnit } from './blocks.js';

export interface RefineNetOptions {
  classes: number;
  /** Channels of the refinement paths (the deepest has twice as many). */
  features?: number;
}

const reduce = (inC: number, outC: number) => new nn.Conv2d(inC, outC, 3, { padding: 1, bias: false });

export class RefineNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly output_conv: nn.Sequential;
  readonly classes: number;
  private readonly reductions: nn.Conv2d[] = [];
  private readonly stages: RefineNetBlock[] = [];

  constructor(encoder: Encoder, { classes, features = 256 }: RefineNetOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = encoder.channels;
    const widths = [features, features, features, 2 * features]; // strides 4, 8, 16, 32
    for (let i = 0; i < 4; i++) this.reductions.push(this.registerModule(`layer${i + 1}_rn`, reduce(c[i + 1]!, widths[i]!)));
    // refinenet4 has the deepest path only; each other stage fuses the one below with its own stride
    this.stages[3] = this.registerModule('refinenet4', new RefineNetBlock(widths[3]!, widths[3]!));
    for (let i = 2; i >= 0; i--) this.stages[i] = this.registerModule(`refinenet${i + 1}`, new RefineNetBlock(widths[i + 1]!, features, widths[i]!));
    this.registerModule('output_conv', new nn.Sequential(new ResidualConvUnit(features), new ResidualConvUnit(features), new nn.Conv2d(features, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const paths = this.reductions.map((r, i) => r.forward(f[i + 1]!));
    let y = this.stages[3]!.forward(paths[3]!);
    for (let i = 2; i >= 0; i--) y = this.stages[i]!.forward(y, paths[i]);
    return { out: upsample4(this.output_conv.forward(y)) };
  }
}
