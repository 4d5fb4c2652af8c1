// Non-local network head (Wang et al. 2018), embedded Gaussian, in mmseg's NLHead layout: a 3×3
// conv to 512, the non-local block (θ, φ, g at 256 channels; softmax(θᵀφ / √256) weights the g
// values; a 1×1 conv + BN back to 512, added to its input), a 3×3 conv, then the last stage and
// these features concatenated into a 3×3 conv and classified; the auxiliary FCN head on stage 4.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { auxHead, convBnRelu, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export class NonLocalBlock extends nn.Module {
  declare readonly g: nn.Conv2d;
  declare readonly theta: nn.Conv2d;
  declare readonly phi: nn.Conv2d;
  declare readonly conv_out: nn.Sequential;
  readonly inner: number;

  constructor(channels: number) {
    super();
    this.inner = Math.max(1, Math.floor(channels / 2));
    this.registerModule('g', new nn.Conv2d(channels, this.inner, 1));
    this.registerModule('theta', new nn.Conv2d(channels, this.inner, 1));
    this.registerModule('phi', new nn.Conv2d(channels, this.inner, 1));
    this.registerModule('conv_out', new nn.Sequential(new nn.Conv2d(this.inner, channels, 1, { bias: false }), new nn.BatchNorm2d(channels)));
    // as mmcv's NonLocal2d: the output norm's weight starts at 0, so a fresh block is the identity
    torch.noGrad(() => (this.conv_out.at(1) as nn.BatchNorm2d).weight!.zero_());
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [n, , h, w] = x.shape;
      const flat = (m: nn.Conv2d) => m.forward(x).view([n, this.inner, h * w]);
      const weights = flat(this.theta).permute([0, 2, 1]).matmul(flat(this.phi)).mul(this.inner ** -0.5).softmax(-1); // [N, HW, HW]
      const y = weights.matmul(flat(this.g).permute([0, 2, 1])).permute([0, 2, 1]).contiguous().view([n, this.inner, h, w]);
      return x.add(this.conv_out.forward(y));
    });
  }
}

export class NonLocalNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly convs: nn.ModuleList<nn.Sequential>;
  declare readonly nl_block: NonLocalBlock;
  declare readonly conv_cat: nn.Sequential;
  declare readonly cls: nn.Sequential;
  declare readonly aux?: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, auxHead: withAux = true }: { classes: number; auxHead?: boolean }) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = encoder.channels[4];
    this.registerModule('convs', new nn.ModuleList([convBnRelu(c, 512, 3), convBnRelu(512, 512, 3)]));
    this.registerModule('nl_block', new NonLocalBlock(512));
    this.registerModule('conv_cat', convBnRelu(c + 512, 512, 3));
    this.registerModule('cls', new nn.Sequential(new nn.Dropout2d(0.1), new nn.Conv2d(512, classes, 1)));
    if (withAux) this.registerModule('aux', auxHead(encoder.channels[3], classes));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const size = x.shape.slice(2);
    const [before, after] = [...this.convs];
    const context = after.forward(this.nl_block.forward(before.forward(f[4])));
    const outputs: ModelOutputs = { out: resizeTo(this.cls.forward(this.conv_cat.forward(torch.cat([f[4], context], 1))), size) };
    if (this.aux && this.training) outputs.aux = resizeTo(this.aux.forward(f[3]), size);
    return outputs;
  }
}
