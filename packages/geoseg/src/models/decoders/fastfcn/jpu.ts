// FastFCN's joint pyramid upsampling (Wu et al. 2019, wuhuikai/FastFCN names): instead of a
// dilated encoder, the plain encoder's stride-8, 16 and 32 features are each brought to `width`
// channels (`conv3`, `conv4`, `conv5`), upsampled to stride 8 (bilinear, align_corners true),
// concatenated, and read by four separable 3×3 convolutions dilated 1, 2, 4, 8 (`dilation1..4`),
// whose outputs concatenated (4 · width channels at stride 8) replace the dilated encoder's.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu } from '../../blocks.js';

/** Depthwise conv → BN → pointwise conv (names conv1, bn, pointwise), as FastFCN's SeparableConv2d. */
class SeparableConv extends nn.Module {
  declare readonly conv1: nn.Conv2d;
  declare readonly bn: nn.BatchNorm2d;
  declare readonly pointwise: nn.Conv2d;

  constructor(inC: number, outC: number, dilation: number) {
    super();
    this.registerModule('conv1', new nn.Conv2d(inC, inC, 3, { padding: dilation, dilation, groups: inC, bias: false }));
    this.registerModule('bn', new nn.BatchNorm2d(inC));
    this.registerModule('pointwise', new nn.Conv2d(inC, outC, 1, { bias: false }));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.pointwise.forward(this.bn.forward(this.conv1.forward(x))));
  }
}

const DILATIONS = [1, 2, 4, 8];

export class JointPyramidUpsampling extends nn.Module {
  declare readonly conv5: nn.Sequential;
  declare readonly conv4: nn.Sequential;
  declare readonly conv3: nn.Sequential;
  private readonly dilations: nn.Sequential[] = [];

  /** inChannels: the stride-8, 16, 32 features' channels. */
  constructor(inChannels: readonly [number, number, number], readonly width = 512) {
    super();
    this.registerModule('conv5', convBnRelu(inChannels[2], width, 3));
    this.registerModule('conv4', convBnRelu(inChannels[1], width, 3));
    this.registerModule('conv3', convBnRelu(inChannels[0], width, 3));
    DILATIONS.forEach((d, i) => {
      this.dilations.push(this.registerModule(`dilation${i + 1}`, new nn.Sequential(new SeparableConv(3 * width, width, d), new nn.BatchNorm2d(width), new nn.ReLU(true))));
    });
  }

  get outChannels(): number {
    return DILATIONS.length * this.width;
  }

  /** Features at strides 8, 16, 32 → [N, 4 · width, H/8, W/8]. */
  forward(s8: Tensor, s16: Tensor, s32: Tensor): Tensor {
    return torch.tidy(() => {
      const f3 = this.conv3.forward(s8);
      const size: [number, number] = [f3.shape[2]!, f3.shape[3]!];
      const up = (t: Tensor) => nn.functional.interpolate(t, { size, mode: 'bilinear', alignCorners: true });
      const joined = torch.cat([up(this.conv5.forward(s32)), up(this.conv4.forward(s16)), f3], 1);
      return torch.cat(this.dilations.map((d) => d.forward(joined)), 1);
    });
  }
}
