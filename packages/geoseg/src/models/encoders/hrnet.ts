// HRNetV2 (Wang et al., "Deep high-resolution representation learning"), with the parameter
// names of the official HRNet-Semantic-Segmentation code (`conv1`, `layer1.0.downsample.0`,
// `transition1.1.0.0`, `stage2.0.branches.0.0.conv1`, `stage3.2.fuse_layers.2.0.0.0`, …), so
// its state dicts load strictly. A stride-4 stem (two stride-2 3×3 convolutions), four
// bottlenecks, then stages of 2, 3 and 4 parallel branches (widths C, 2C, 4C, 8C at strides 4 to
// 32) joined by exchange units that sum every branch into every other. The pyramid: the stem's
// first convolution (stride 2, 64 channels) and the four branches.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../blocks.js';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';
import { BasicBlock, Bottleneck, conv1x1, conv3x3 } from './residual-blocks.js';
import { ModelConfigError } from '../../errors.js';

/** Modules per stage (2, 3, 4); every branch has 4 basic blocks. */
const MODULES = [1, 4, 3];
const BLOCKS = 4;

const convBn = (inC: number, outC: number, k: 1 | 3, stride = 1) => [k === 1 ? conv1x1(inC, outC, stride) : conv3x3(inC, outC, stride), new nn.BatchNorm2d(outC)];

/** Index → module, with the indices PyTorch's ModuleList gives when some entries are None. */
function sparseList(entries: (nn.Module | null)[]): nn.ModuleDict {
  return new nn.ModuleDict(Object.fromEntries(entries.flatMap((m, i) => (m ? [[String(i), m]] : []))));
}

/** Between stages: a 3×3 convolution where a branch changes width, a stride-2 one for a new branch. */
function transition(before: number[], after: number[]): nn.ModuleDict {
  return sparseList(after.map((c, i) => {
    if (i < before.length) return before[i] === c ? null : new nn.Sequential(...convBn(before[i], c, 3), new nn.ReLU(true));
    return new nn.Sequential(new nn.Sequential(...convBn(before[before.length - 1], c, 3, 2), new nn.ReLU(true)));
  }));
}

/** One exchange unit: each branch's blocks, then every output the sum of all branches brought to its resolution. */
class HighResolutionModule extends nn.Module {
  declare readonly branches: nn.ModuleList<nn.Sequential>;
  declare readonly fuse_layers: nn.ModuleList<nn.ModuleDict>;

  constructor(readonly widths: number[]) {
    super();
    this.registerModule('branches', new nn.ModuleList(widths.map((c) => new nn.Sequential(...Array.from({ length: BLOCKS }, () => new BasicBlock(c, c, 1, 1, 1, null))))));
    // fuse_layers[i][j]: j > i a 1×1 conv + BN (then upsampled), j < i a chain of i − j stride-2 3×3 convs
    this.registerModule('fuse_layers', new nn.ModuleList(widths.map((ci, i) => sparseList(widths.map((cj, j) => {
      if (j > i) return new nn.Sequential(...convBn(cj, ci, 1));
      if (j === i) return null;
      return new nn.Sequential(...Array.from({ length: i - j }, (_, k) => (k === i - j - 1
        ? new nn.Sequential(...convBn(cj, ci, 3, 2))
        : new nn.Sequential(...convBn(cj, cj, 3, 2), new nn.ReLU(true)))));
    })))));
  }

  forward(xs: Tensor[]): Tensor[] {
    const ys = xs.map((x, i) => this.branches.at(i).forward(x));
    return this.widths.map((_, i) => torch.tidy(() => {
      const row = this.fuse_layers.at(i);
      let sum: Tensor = ys[i].clone();
      ys.forEach((y, j) => {
        if (j === i) return;
        const f = (row.get(String(j)) as nn.Sequential).forward(y);
        sum = sum.add_(j > i ? resizeTo(f, ys[i].shape.slice(2)) : f);
      });
      return sum.relu_();
    }));
  }
}

/** The four branches of an HRNet pyramid (without its stride-2 stem map) at stride 4, concatenated: [N, 15C, H/4, W/4]. */
export function joinBranches(features: Tensor[]): Tensor {
  const [, ...branches] = features;
  const size = branches[0].shape.slice(2);
  return torch.cat(branches.map((b) => resizeTo(b, size)), 1);
}

/** Channels of joinBranches' result. */
export const joinedChannels = (encoder: Encoder) => encoder.channels.slice(1).reduce((a, b) => a + b, 0);

export const HRNET_WIDTHS = { hrnetv2_w18: 18, hrnetv2_w32: 32, hrnetv2_w48: 48 } as const;
export type HRNetName = keyof typeof HRNET_WIDTHS;

export class HRNetEncoder extends Encoder {
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly conv2: nn.Conv2d;
  declare readonly bn2: nn.BatchNorm2d;
  declare readonly layer1: nn.Sequential;
  readonly channels: readonly number[];
  readonly outputStride: OutputStride = 32;
  readonly firstConv = 'conv1.weight';
  // the ImageNet HRNetV2 checkpoints' classification head (HRNet-Image-Classification)
  override readonly classifierPrefixes = ['incre_modules.', 'downsamp_modules.', 'final_layer.', 'classifier.'];
  readonly inChannels: number;
  readonly #stages: { transition: nn.ModuleDict; stage: nn.Sequential }[] = [];

  constructor(readonly name: HRNetName, { inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    if (outputStride !== 32) throw new ModelConfigError(`${name}: output stride ${outputStride} does not apply (HRNet keeps a stride-4 branch; use the default)`);
    this.inChannels = inChannels;
    const C = HRNET_WIDTHS[name];
    this.channels = [64, C, 2 * C, 4 * C, 8 * C];
    this.registerModule('conv1', new nn.Conv2d(inChannels, 64, 3, { stride: 2, padding: 1, bias: false }));
    this.registerModule('bn1', new nn.BatchNorm2d(64));
    this.registerModule('conv2', new nn.Conv2d(64, 64, 3, { stride: 2, padding: 1, bias: false }));
    this.registerModule('bn2', new nn.BatchNorm2d(64));
    const downsample = new nn.Sequential(conv1x1(64, 256), new nn.BatchNorm2d(256));
    this.registerModule('layer1', new nn.Sequential(new Bottleneck(64, 64, 1, 1, 1, downsample), ...Array.from({ length: 3 }, () => new Bottleneck(256, 64, 1, 1, 1, null))));
    let before = [256];
    for (const [s, modules] of MODULES.entries()) {
      const widths = Array.from({ length: s + 2 }, (_, b) => C * 2 ** b);
      const t = this.registerModule(`transition${s + 1}`, transition(before, widths));
      const stage = this.registerModule(`stage${s + 2}`, new nn.Sequential(...Array.from({ length: modules }, () => new HighResolutionModule(widths))));
      this.#stages.push({ transition: t, stage });
      before = widths;
    }
    // the official init: convolutions N(0, 0.001), BN weight 1, bias 0
    this.apply((m) => {
      if (m instanceof nn.Conv2d) nn.init.normal_(m.weight, 0, 0.001);
    });
  }

  forward(x: Tensor): Tensor[] {
    const s2 = this.bn1.forward(this.conv1.forward(x)).relu_();
    let xs = [this.layer1.forward(this.bn2.forward(this.conv2.forward(s2)).relu_())];
    for (const { transition: t, stage } of this.#stages) {
      const widths = ([...stage][0] as HighResolutionModule).widths;
      // the transition takes the previous stage's outputs: existing branches their own, a new one the last
      const inputs = widths.map((_, i) => {
        const m = t.has(String(i)) ? (t.get(String(i)) as nn.Sequential) : null;
        const src = xs[Math.min(i, xs.length - 1)];
        return m ? m.forward(src) : src;
      });
      xs = [...stage].reduce((ys: Tensor[], m) => (m as HighResolutionModule).forward(ys), inputs);
    }
    return [s2, ...xs];
  }
}
