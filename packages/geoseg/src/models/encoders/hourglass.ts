// Stacked hourglass encoders (Newell et al. 2016) as mmdetection's HourglassNet, the CornerNet /
// CenterNet backbone: Hourglass-52 (one stack) and Hourglass-104 (two), with its names (`stem`,
// `hourglass_modules.<i>.up1/low1/low2/low3`, `inters`, `conv1x1s`, `out_convs`, `remap_convs`) so
// its state dicts load strictly. Each hourglass recurses five times from stride 4 (to stride 128,
// channels 256-256-384-384-384-512), every level a residual path at its size (up1) plus the
// deeper level upsampled (nearest). As an encoder's pyramid: the stem's first convolution
// (stride 2, 128), the last stack's output convolution (stride 4, 256), and the last hourglass's
// own outputs at strides 8, 16, 32 (256, 384, 384) — top-down features that have already seen the
// whole hourglass. Output stride 32 only (its deeper levels are internal).
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { InputShapeError, ModelConfigError } from '../../errors.js';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';
import { BasicBlock, conv1x1 } from './residual-blocks.js';

const STAGE_CHANNELS = [256, 256, 384, 384, 384, 512];
const STAGE_BLOCKS = [2, 2, 2, 2, 2, 4];
const DEPTH = 5; // downsamplings inside an hourglass
const FEATURE_CHANNELS = 256;

/** mmcv's ConvModule with BN: conv (no bias), bn, ReLU unless `act` is false. */
class ConvModule extends nn.Module {
  declare readonly conv: nn.Conv2d;
  declare readonly bn: nn.BatchNorm2d;

  constructor(inC: number, outC: number, kernel: number, stride = 1, readonly act = true) {
    super();
    this.registerModule('conv', new nn.Conv2d(inC, outC, kernel, { stride, padding: (kernel - 1) / 2, bias: false }));
    this.registerModule('bn', new nn.BatchNorm2d(outC));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.bn.forward(this.conv.forward(x));
      return this.act ? y.relu_() : y;
    });
  }
}

function block(inC: number, outC: number, stride: number): BasicBlock {
  const downsample = stride !== 1 || inC !== outC ? new nn.Sequential(conv1x1(inC, outC, stride), new nn.BatchNorm2d(outC)) : null;
  return new BasicBlock(inC, outC, stride, 1, 1, downsample);
}

/**
 * mmdet's ResLayer of basic blocks: the change of channels and stride in the first block, or, with
 * `changeLast`, in the last. It has at least one block (mmdet's appends the first unconditionally).
 */
function resLayer(inC: number, outC: number, count: number, stride = 1, changeLast = false): nn.Sequential {
  const n = Math.max(count, 1);
  const blocks = changeLast
    ? [...Array.from({ length: n - 1 }, () => block(inC, inC, 1)), block(inC, outC, stride)]
    : [block(inC, outC, stride), ...Array.from({ length: n - 1 }, () => block(outC, outC, 1))];
  return new nn.Sequential(...blocks);
}

class HourglassModule extends nn.Module {
  declare readonly up1: nn.Sequential;
  declare readonly low1: nn.Sequential;
  declare readonly low2: HourglassModule | nn.Sequential;
  declare readonly low3: nn.Sequential;

  constructor(readonly depth: number, channels: readonly number[], blocks: readonly number[]) {
    super();
    const [c, next] = [channels[0]!, channels[1]!];
    this.registerModule('up1', resLayer(c, c, blocks[0]!));
    this.registerModule('low1', resLayer(c, next, blocks[0]!, 2));
    this.registerModule('low2', depth > 1 ? new HourglassModule(depth - 1, channels.slice(1), blocks.slice(1)) : resLayer(next, next, blocks[1]!));
    this.registerModule('low3', resLayer(next, c, blocks[0]!, 1, true));
  }

  /** Its output, then the nested modules' (each at half the size of the one before). */
  forwardLevels(x: Tensor): Tensor[] {
    return torch.tidy(() => {
      const low1 = this.low1.forward(x);
      const nested = this.low2 instanceof HourglassModule ? this.low2.forwardLevels(low1) : [this.low2.forward(low1)];
      const low3 = this.low3.forward(nested[0]!);
      if (!(this.low2 instanceof HourglassModule)) nested.length = 0; // the innermost blocks are not a level
      const up1 = this.up1.forward(x);
      // out of place: up1 is a ReLU's output, which its backward reads
      const out = up1.add(nn.functional.interpolate(low3, { size: [up1.shape[2]!, up1.shape[3]!], mode: 'nearest' }));
      return [out, ...nested];
    });
  }

  forward(x: Tensor): Tensor {
    const [out, ...nested] = this.forwardLevels(x);
    for (const t of nested) t.dispose();
    return out!;
  }
}

export type HourglassName = 'hourglass52' | 'hourglass104';
const STACKS: Record<HourglassName, number> = { hourglass52: 1, hourglass104: 2 };

export class HourglassEncoder extends Encoder {
  declare readonly stem: nn.Sequential;
  declare readonly hourglass_modules: nn.ModuleList<HourglassModule>;
  declare readonly inters?: nn.Sequential;
  declare readonly conv1x1s: nn.ModuleList<ConvModule>;
  declare readonly out_convs: nn.ModuleList<ConvModule>;
  declare readonly remap_convs: nn.ModuleList<ConvModule>;
  readonly channels: readonly number[] = [STAGE_CHANNELS[0]! / 2, FEATURE_CHANNELS, STAGE_CHANNELS[1]!, STAGE_CHANNELS[2]!, STAGE_CHANNELS[3]!];
  readonly outputStride: OutputStride = 32;
  readonly firstConv = 'stem.0.conv.weight';
  readonly inChannels: number;
  readonly stacks: number;

  constructor(readonly name: HourglassName, { inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    if (outputStride !== 32) throw new ModelConfigError(`${name}: output stride ${outputStride} is not available (its deeper levels are inside the hourglass; use 32)`);
    this.inChannels = inChannels;
    this.stacks = STACKS[name];
    const c = STAGE_CHANNELS[0]!;
    const others = this.stacks - 1;
    this.registerModule('stem', new nn.Sequential(new ConvModule(inChannels, c / 2, 7, 2), resLayer(c / 2, c, 1, 2)));
    this.registerModule('hourglass_modules', new nn.ModuleList(Array.from({ length: this.stacks }, () => new HourglassModule(DEPTH, STAGE_CHANNELS, STAGE_BLOCKS))));
    // mmdet builds one `inters` block even for one stack, where nothing uses it: left out here
    // (no parameters without gradients), and dropped from its state dicts on load
    if (others > 0) this.registerModule('inters', resLayer(c, c, others));
    this.registerModule('conv1x1s', new nn.ModuleList(Array.from({ length: others }, () => new ConvModule(c, c, 1, 1, false))));
    this.registerModule('out_convs', new nn.ModuleList(Array.from({ length: this.stacks }, () => new ConvModule(c, FEATURE_CHANNELS, 3))));
    this.registerModule('remap_convs', new nn.ModuleList(Array.from({ length: others }, () => new ConvModule(FEATURE_CHANNELS, c, 1, 1, false))));
  }

  /** Hourglass-52's checkpoints hold mmdet's unused `inters.0`. */
  override checkpointKeys<T>(state: Record<string, T>): Record<string, T> {
    return this.stacks > 1 ? state : Object.fromEntries(Object.entries(state).filter(([k]) => !k.startsWith('inters.')));
  }

  forward(x: Tensor): Tensor[] {
    // Batch norm in training needs two values per channel at the innermost level (stride 128;
    // strided convolutions round up).
    const at128 = (size: number) => Math.ceil(size / 128);
    const [n, , h, w] = x.shape as [number, number, number, number];
    if (this.training && n * at128(h) * at128(w) < 2) {
      throw new InputShapeError(`${this.name}: training on ${n}×${h}×${w} leaves one value per channel at stride 128 for batch norm (use crops above 128 or a batch of 2 or more)`);
    }
    const s2 = (this.stem.at(0) as ConvModule).forward(x);
    let inter = this.stem.at(1).forward(s2);
    const hourglasses = [...this.hourglass_modules];
    const outConvs = [...this.out_convs];
    for (let i = 0; ; i++) {
      // the hourglass's outputs at strides 4, 8, …, 64
      const levels = hourglasses[i]!.forwardLevels(inter);
      const out = outConvs[i]!.forward(levels[0]!);
      if (i === this.stacks - 1) {
        inter.dispose();
        for (const t of [levels[0]!, ...levels.slice(4)]) t.dispose();
        return [s2, out, ...levels.slice(1, 4)];
      }
      for (const t of levels) t.dispose();
      const next = torch.tidy(() => {
        const merged = [...this.conv1x1s][i]!.forward(inter).add_([...this.remap_convs][i]!.forward(out)).relu_();
        return this.inters!.at(i).forward(merged);
      });
      inter.dispose();
      out.dispose();
      inter = next;
    }
  }
}
