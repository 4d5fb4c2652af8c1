// Xception-65, the aligned, modified Xception of DeepLabV3+ (Chen et al. 2018): every max pool
// replaced by a strided separable convolution, BN after each depthwise and pointwise convolution,
// 16 middle-flow blocks. Names as timm's `xception65` (`stem.0.conv`, `blocks.<i>.stack.conv<j>.
// conv_dw/bn_dw/conv_pw/bn_pw`, `blocks.<i>.shortcut.conv/bn`), whose published weights are
// converted from TensorFlow DeepLab's ImageNet checkpoint, so they load without `head.*`.
// Features where timm taps them: the ReLU before each downsampling block's strided convolution
// (strides 2, 4, 8, 16: 128, 256, 728, 1024 channels) and the exit flow's output (2048). Output
// stride 16 or 8 as timm's: a block whose stride would pass it keeps stride 1, and the blocks after
// it are dilated by the stride it no longer takes.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';

const BN_EPS = 1e-3; // the TensorFlow checkpoint's

/** conv (no bias) + BN (+ ReLU): timm's ConvNormAct. */
class ConvNormAct extends nn.Module {
  declare readonly conv: nn.Conv2d;
  declare readonly bn: nn.BatchNorm2d;

  constructor(inC: number, outC: number, kernel: number, stride: number, readonly act: boolean) {
    super();
    this.registerModule('conv', new nn.Conv2d(inC, outC, kernel, { stride, padding: (kernel - 1) / 2, bias: false }));
    this.registerModule('bn', new nn.BatchNorm2d(outC, { eps: BN_EPS }));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.bn.forward(this.conv.forward(x));
      return this.act ? y.relu_() : y;
    });
  }
}

/** Depthwise 3×3 + BN (+ ReLU), pointwise 1×1 + BN (+ ReLU). */
class SeparableConv extends nn.Module {
  declare readonly conv_dw: nn.Conv2d;
  declare readonly bn_dw: nn.BatchNorm2d;
  declare readonly conv_pw: nn.Conv2d;
  declare readonly bn_pw: nn.BatchNorm2d;

  constructor(inC: number, outC: number, stride: number, dilation: number, readonly act: boolean) {
    super();
    this.registerModule('conv_dw', new nn.Conv2d(inC, inC, 3, { stride, padding: dilation, dilation, groups: inC, bias: false }));
    this.registerModule('bn_dw', new nn.BatchNorm2d(inC, { eps: BN_EPS }));
    this.registerModule('conv_pw', new nn.Conv2d(inC, outC, 1, { bias: false }));
    this.registerModule('bn_pw', new nn.BatchNorm2d(outC, { eps: BN_EPS }));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let y = this.bn_dw.forward(this.conv_dw.forward(x));
      if (this.act) y = y.relu_();
      y = this.bn_pw.forward(this.conv_pw.forward(y));
      return this.act ? y.relu_() : y;
    });
  }
}

interface BlockPlan {
  inC: number;
  /** The three separable convolutions' widths. */
  widths: [number, number, number];
  stride: number;
  dilation: number;
  /** Entry and middle flow: ReLU before each separable convolution; the last block: ReLU inside them. */
  reluFirst: boolean;
  residual: boolean;
}

/** The three separable convolutions (timm's `stack`; its ReLUs have no parameters). */
class SeparableStack extends nn.Module {
  readonly convs: SeparableConv[] = [];

  constructor(plan: BlockPlan) {
    super();
    let c = plan.inC;
    plan.widths.forEach((w, j) => {
      this.convs.push(this.registerModule(`conv${j + 1}`, new SeparableConv(c, w, j === 2 ? plan.stride : 1, plan.dilation, !plan.reluFirst)));
      c = w;
    });
  }

  forward(): never {
    throw new Error('SeparableStack: run by XceptionBlock');
  }
}

class XceptionBlock extends nn.Module {
  declare readonly shortcut?: ConvNormAct;
  declare readonly stack: SeparableStack;

  constructor(readonly plan: BlockPlan) {
    super();
    const outC = plan.widths[2];
    if (plan.residual && (outC !== plan.inC || plan.stride !== 1)) this.registerModule('shortcut', new ConvNormAct(plan.inC, outC, 1, plan.stride, false));
    this.registerModule('stack', new SeparableStack(plan));
  }

  /** The block's output, and the input of its last separable convolution (after its ReLU: timm's `act3`). */
  forwardWithTap(x: Tensor): { out: Tensor; tap: Tensor } {
    return torch.tidy(() => {
      const [c1, c2, c3] = this.stack.convs as [SeparableConv, SeparableConv, SeparableConv];
      const pre = (t: Tensor) => (this.plan.reluFirst ? t.relu() : t);
      const tap = pre(c2.forward(pre(c1.forward(pre(x)))));
      let out = c3.forward(tap);
      if (this.plan.residual) out = out.add_(this.shortcut ? this.shortcut.forward(x) : x);
      return { out, tap };
    });
  }

  forward(x: Tensor): Tensor {
    const { out, tap } = this.forwardWithTap(x);
    tap.dispose();
    return out;
  }
}

/** Xception-65's blocks, with strides and dilations for the output stride (timm's rule). */
function blockPlans(outputStride: OutputStride): BlockPlan[] {
  const plans: Omit<BlockPlan, 'dilation'>[] = [
    { inC: 64, widths: [128, 128, 128], stride: 2, reluFirst: true, residual: true },
    { inC: 128, widths: [256, 256, 256], stride: 2, reluFirst: true, residual: true },
    { inC: 256, widths: [728, 728, 728], stride: 2, reluFirst: true, residual: true },
    ...Array.from({ length: 16 }, () => ({ inC: 728, widths: [728, 728, 728] as [number, number, number], stride: 1, reluFirst: true, residual: true })),
    { inC: 728, widths: [728, 1024, 1024], stride: 2, reluFirst: true, residual: true },
    { inC: 1024, widths: [1536, 1536, 2048], stride: 1, reluFirst: false, residual: false },
  ];
  let stride = 2; // after the stem
  let dilation = 1;
  return plans.map((p) => {
    const plan = { ...p, dilation };
    if (p.stride > 1) {
      if (stride * p.stride > outputStride) {
        dilation *= p.stride; // for the blocks after this one
        plan.stride = 1;
      } else {
        stride *= p.stride;
      }
    }
    return plan;
  });
}

/** Blocks whose tap is a feature (the downsampling ones), and the last block's output. */
const TAPPED = [0, 1, 2, 19];

export class XceptionEncoder extends Encoder {
  declare readonly stem: nn.Sequential;
  declare readonly blocks: nn.Sequential;
  readonly channels: readonly number[] = [128, 256, 728, 1024, 2048];
  readonly outputStride: OutputStride;
  readonly firstConv = 'stem.0.conv.weight';
  override readonly classifierPrefixes: readonly string[] = ['head.'];
  readonly inChannels: number;

  constructor({ inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outputStride = outputStride;
    this.registerModule('stem', new nn.Sequential(new ConvNormAct(inChannels, 32, 3, 2, true), new ConvNormAct(32, 64, 3, 1, true)));
    this.registerModule('blocks', new nn.Sequential(...blockPlans(outputStride).map((p) => new XceptionBlock(p))));
  }

  forward(x: Tensor): Tensor[] {
    const features: Tensor[] = [];
    let y = this.stem.forward(x);
    for (let i = 0; i < this.blocks.length; i++) {
      const block = this.blocks.at(i) as XceptionBlock;
      const { out, tap } = block.forwardWithTap(y);
      if (TAPPED.includes(i)) features.push(tap);
      else tap.dispose();
      y.dispose();
      y = out;
    }
    features.push(y);
    return features;
  }
}
