// CCNet (Huang et al. 2019), the official RCCAModule's names (`head`), with BN + ReLU where the
// official code uses in-place activated BN: 3×3 conv to C/4, criss-cross attention applied twice
// with the same weights (recurrence 2), 3×3 conv, then the last stage and the attended features
// concatenated into a 3×3 bottleneck and classified; the auxiliary FCN head on stage 4 (`aux`).
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { auxHead, convBnRelu, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { CrissCrossAttention } from './criss-cross.js';

class RCCAModule extends nn.Module {
  declare readonly conva: nn.Sequential;
  declare readonly cca: CrissCrossAttention;
  declare readonly convb: nn.Sequential;
  declare readonly bottleneck: nn.Sequential;

  constructor(inC: number, classes: number, readonly recurrence: number) {
    super();
    const c = Math.floor(inC / 4);
    this.registerModule('conva', convBnRelu(inC, c, 3));
    this.registerModule('cca', new CrissCrossAttention(c));
    this.registerModule('convb', convBnRelu(c, c, 3));
    this.registerModule('bottleneck', new nn.Sequential(
      new nn.Conv2d(inC + c, 512, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(512), new nn.ReLU(true), new nn.Dropout2d(0.1), new nn.Conv2d(512, classes, 1)));
  }

  forward(x: Tensor): Tensor {
    let y = this.conva.forward(x);
    for (let i = 0; i < this.recurrence; i++) y = this.cca.forward(y);
    return this.bottleneck.forward(torch.cat([x, this.convb.forward(y)], 1));
  }
}

export interface CCNetOptions {
  classes: number;
  /** How many times the criss-cross attention is applied (2: every pixel reaches every pixel). */
  recurrence?: number;
  auxHead?: boolean;
}

export class CCNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly head: RCCAModule;
  declare readonly aux?: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, recurrence = 2, auxHead: withAux = true }: CCNetOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('head', new RCCAModule(encoder.channels[4], classes, recurrence));
    if (withAux) this.registerModule('aux', auxHead(encoder.channels[3], classes));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const size = x.shape.slice(2);
    const outputs: ModelOutputs = { out: resizeTo(this.head.forward(f[4]), size) };
    if (this.aux && this.training) outputs.aux = resizeTo(this.aux.forward(f[3]), size);
    return outputs;
  }
}
