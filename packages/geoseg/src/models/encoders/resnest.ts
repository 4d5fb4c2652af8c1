// ResNeSt-50/101 encoders (Zhang et al. 2020) with the official zhanghang1989/ResNeSt names, so
// its state dicts (without `fc.*`) load strictly: the deep stem (`conv1.0..6`: three 3×3
// convolutions, 32-32-64), bottlenecks whose 3×3 is split attention (`conv2.conv/bn0/fc1/bn1/fc2`)
// followed by an average pool where the block downsamples (`avd_layer`: avd, not first), and
// average-pool-then-1×1 shortcuts (`downsample.0..2`: avg_down). Output stride 16 or 8 as the
// official `dilation=2` / `dilated=True`: the stage's stride goes, its first block keeps the
// dilation before (halved at 4), the others take it; the avd pool keeps its 3×3 window at stride 1.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { perImageInInference } from '../blocks.js';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';
import { SplitAttentionConv } from './split-attention.js';

const EXPANSION = 4;
const DEPTHS: Record<ResNeStName, number[]> = { resnest50: [3, 4, 6, 3], resnest101: [3, 4, 23, 3] };
export type ResNeStName = 'resnest50' | 'resnest101';

class SplitBottleneck extends nn.Module {
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly avd_layer?: nn.AvgPool2d;
  declare readonly conv2: SplitAttentionConv;
  declare readonly conv3: nn.Conv2d;
  declare readonly bn3: nn.BatchNorm2d;
  declare readonly downsample?: nn.Sequential;

  constructor(inC: number, planes: number, stride: number, dilation: number, avd: boolean, downsample?: nn.Sequential) {
    super();
    this.registerModule('conv1', new nn.Conv2d(inC, planes, 1, { bias: false }));
    this.registerModule('bn1', new nn.BatchNorm2d(planes));
    if (avd) this.registerModule('avd_layer', new nn.AvgPool2d(3, { stride, padding: 1 }));
    this.registerModule('conv2', new SplitAttentionConv(planes, avd ? 1 : stride, dilation));
    this.registerModule('conv3', new nn.Conv2d(planes, planes * EXPANSION, 1, { bias: false }));
    this.registerModule('bn3', new nn.BatchNorm2d(planes * EXPANSION));
    if (downsample) this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let y = this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_());
      if (this.avd_layer) y = this.avd_layer.forward(y);
      const out = this.bn3.forward(this.conv3.forward(y));
      return out.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

/** The shortcut: average pool (stride × stride, ceil mode, padding not counted; 1×1 in a dilated stage), 1×1 conv, BN. */
function shortcut(inC: number, outC: number, stride: number, dilated: boolean): nn.Sequential {
  const k = dilated ? 1 : stride;
  return new nn.Sequential(
    new nn.AvgPool2d(k, { stride: k, ceilMode: true, countIncludePad: false }),
    new nn.Conv2d(inC, outC, 1, { bias: false }),
    new nn.BatchNorm2d(outC));
}

/** The stages' strides and the official `dilation` argument of each (1, 2 or 4). */
function stagePlan(outputStride: OutputStride): { strides: number[]; dilations: number[] } {
  switch (outputStride) {
    case 32: return { strides: [1, 2, 2, 2], dilations: [1, 1, 1, 1] };
    case 16: return { strides: [1, 2, 2, 1], dilations: [1, 1, 1, 2] };
    case 8: return { strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4] };
  }
}

export class ResNeStEncoder extends Encoder {
  declare readonly conv1: nn.Sequential;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly maxpool: nn.MaxPool2d;
  declare readonly layer1: nn.Sequential;
  declare readonly layer2: nn.Sequential;
  declare readonly layer3: nn.Sequential;
  declare readonly layer4: nn.Sequential;
  readonly channels: readonly number[] = [64, 256, 512, 1024, 2048];
  readonly outputStride: OutputStride;
  readonly firstConv = 'conv1.0.weight';
  readonly inChannels: number;

  constructor(readonly name: ResNeStName, { inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outputStride = outputStride;
    const conv = (i: number, o: number, stride = 1) => new nn.Conv2d(i, o, 3, { stride, padding: 1, bias: false });
    this.registerModule('conv1', new nn.Sequential(
      conv(inChannels, 32, 2), new nn.BatchNorm2d(32), new nn.ReLU(true),
      conv(32, 32), new nn.BatchNorm2d(32), new nn.ReLU(true),
      conv(32, 64)));
    this.registerModule('bn1', new nn.BatchNorm2d(64));
    this.registerModule('maxpool', new nn.MaxPool2d(3, { stride: 2, padding: 1 }));
    const { strides, dilations } = stagePlan(outputStride);
    let inC = 64;
    [64, 128, 256, 512].forEach((planes, i) => {
      const stride = strides[i]!;
      const dilation = dilations[i]!;
      const blocks: nn.Module[] = [];
      const down = shortcut(inC, planes * EXPANSION, stride, dilation !== 1);
      // the first block of stages 2–4 pools (avd) even when its stride is 1
      blocks.push(new SplitBottleneck(inC, planes, stride, dilation === 4 ? 2 : 1, stride > 1 || i > 0, down));
      inC = planes * EXPANSION;
      for (let b = 1; b < DEPTHS[name][i]!; b++) blocks.push(new SplitBottleneck(inC, planes, 1, dilation, false));
      this.registerModule(`layer${i + 1}`, new nn.Sequential(...blocks));
    });
    // the official init: convolutions normal(0, √(2 / (k² · out channels))); BN weight 1, bias 0
    this.apply((m) => {
      if (m instanceof nn.Conv2d) {
        const [out, , kh, kw] = m.weight.shape as [number, number, number, number];
        torch.noGrad(() => m.weight.normal_(0, Math.sqrt(2 / (kh * kw * out))));
      }
    });
  }

  forward(x: Tensor): Tensor[] {
    const stem = (t: Tensor) => torch.tidy(() => this.bn1.forward(this.conv1.forward(t)).relu_());
    const s2 = perImageInInference(this, x, stem);
    const pooled = this.maxpool.forward(s2);
    const s4 = this.layer1.forward(pooled);
    pooled.dispose();
    const s8 = this.layer2.forward(s4);
    const s16 = this.layer3.forward(s8);
    return [s2, s4, s8, s16, this.layer4.forward(s16)];
  }
}
