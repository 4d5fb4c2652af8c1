// PSPNet (Zhao et al. 2017): pyramid pooling of the deepest features over configurable bins
// (the seeds compare (1,2,3,6), (1,3,6) and (1,2,3)), with an optional auxiliary head on the
// stride-16 features for an auxiliary loss in training.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { auxHead as stage3AuxHead, convBnRelu, forwardPooled, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

/** The pyramid pooling module: the input and its pooled-and-upsampled bins, concatenated. */
export class PyramidPooling extends nn.Module {
  declare readonly stages: nn.ModuleList<nn.Sequential>;

  constructor(inC: number, readonly bins: number[]) {
    super();
    const outC = Math.floor(inC / bins.length);
    this.registerModule('stages', new nn.ModuleList(bins.map((b) =>
      new nn.Sequential(new nn.AdaptiveAvgPool2d(b), new nn.Conv2d(inC, outC, 1, { bias: false }), new nn.BatchNorm2d(outC), new nn.ReLU(true)))));
  }

  forward(x: Tensor): Tensor {
    const size = x.shape.slice(2);
    return torch.tidy(() => torch.cat([x, ...[...this.stages].map((s) => resizeTo(forwardPooled(s, x), size))], 1));
  }
}

export interface PSPNetOptions {
  classes: number;
  bins?: number[];
  auxHead?: boolean;
  dropout?: number;
}

export class PSPNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly ppm: PyramidPooling;
  declare readonly head: nn.Sequential;
  declare readonly aux?: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, bins = [1, 2, 3, 6], auxHead = false, dropout = 0.1 }: PSPNetOptions) {
    super();
    if (bins.length === 0 || bins.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`PSPNet: bins must be positive integers, got [${bins.join(', ')}]`);
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = encoder.channels[4];
    this.registerModule('ppm', new PyramidPooling(c, bins));
    const joined = c + Math.floor(c / bins.length) * bins.length;
    this.registerModule('head', new nn.Sequential(convBnRelu(joined, 512, 3), new nn.Dropout2d(dropout), new nn.Conv2d(512, classes, 1)));
    if (auxHead) {
      this.registerModule('aux', stage3AuxHead(encoder.channels[3], classes, dropout));
    }
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const size = x.shape.slice(2);
    const out = resizeTo(this.head.forward(this.ppm.forward(f[4])), size);
    const aux = this.aux && this.training ? resizeTo(this.aux.forward(f[3]), size) : undefined;
    return aux ? { out, aux } : { out };
  }
}
