// ResNeSt's split-attention convolution (Zhang et al. 2020, the official SplAtConv2d's names): a
// grouped 3×3 convolution makes `radix` (2) feature-map splits (`conv`, `bn0`), their sum pooled
// globally gives per-channel attention logits (`fc1`, `bn1`, `fc2`), a softmax across the splits
// weights them, and the weighted splits are summed.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { batchNormPooled } from '../blocks.js';

const RADIX = 2;
const REDUCTION = 4;

export class SplitAttentionConv extends nn.Module {
  declare readonly conv: nn.Conv2d;
  declare readonly bn0: nn.BatchNorm2d;
  declare readonly fc1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly fc2: nn.Conv2d;

  constructor(readonly channels: number, stride: number, dilation: number) {
    super();
    const inter = Math.max(Math.floor((channels * RADIX) / REDUCTION), 32);
    this.registerModule('conv', new nn.Conv2d(channels, channels * RADIX, 3, { stride, padding: dilation, dilation, groups: RADIX, bias: false }));
    this.registerModule('bn0', new nn.BatchNorm2d(channels * RADIX));
    this.registerModule('fc1', new nn.Conv2d(channels, inter, 1));
    this.registerModule('bn1', new nn.BatchNorm2d(inter));
    this.registerModule('fc2', new nn.Conv2d(inter, channels * RADIX, 1));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.bn0.forward(this.conv.forward(x)).relu_();
      const n = y.shape[0]!;
      const [a, b] = [y.narrow(1, 0, this.channels), y.narrow(1, this.channels, this.channels)];
      const pooled = a.add(b).adaptiveAvgPool2d([1, 1]);
      // one value per channel when the batch is 1: the BN normalizes with its running statistics
      const logits = this.fc2.forward(batchNormPooled(this.bn1, this.fc1.forward(pooled)).relu_());
      const weights = logits.reshape([n, RADIX, this.channels, 1, 1]).softmax(1);
      return a.mul(weights.select(1, 0)).add_(b.mul(weights.select(1, 1)));
    });
  }
}
