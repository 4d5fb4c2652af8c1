// Self-attention blocks of DANet (Fu et al. 2019), with the official code's names, shared by DANet
// and the HRNet head's hourglass option (CCNet's criss-cross attention shares their parameters'
// layout). Each ends in a learned residual weight `gamma` that starts
// at 0, so a fresh block is the identity and attention is blended in as training finds it useful.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

/**
 * Queries and keys at C/8 channels, values at C, and the residual weight `gamma` (0 at first):
 * the parameters of position attention and of criss-cross attention.
 */
export abstract class QueryKeyValueAttention extends nn.Module {
  declare readonly query_conv: nn.Conv2d;
  declare readonly key_conv: nn.Conv2d;
  declare readonly value_conv: nn.Conv2d;
  declare readonly gamma: Tensor;

  constructor(channels: number) {
    super();
    const keyChannels = Math.max(1, Math.floor(channels / 8));
    this.registerModule('query_conv', new nn.Conv2d(channels, keyChannels, 1));
    this.registerModule('key_conv', new nn.Conv2d(channels, keyChannels, 1));
    this.registerModule('value_conv', new nn.Conv2d(channels, channels, 1));
    this.registerParameter('gamma', torch.zeros([1]));
  }
}

/** Position attention: every pixel attends to every pixel. */
export class PositionAttention extends QueryKeyValueAttention {
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [n, c, h, w] = x.shape;
      const query = this.query_conv.forward(x).view([n, -1, h * w]).permute([0, 2, 1]); // [N, HW, C']
      const key = this.key_conv.forward(x).view([n, -1, h * w]); // [N, C', HW]
      const attention = query.matmul(key).softmax(-1); // [N, HW, HW]: row p sums to 1
      const value = this.value_conv.forward(x).view([n, c, h * w]);
      const out = value.matmul(attention.permute([0, 2, 1])).view([n, c, h, w]);
      return out.mul(this.gamma).add(x);
    });
  }
}

/** Channel attention: every channel attends to every channel (no projections). */
export class ChannelAttention extends nn.Module {
  declare readonly gamma: Tensor;

  constructor() {
    super();
    this.registerParameter('gamma', torch.zeros([1]));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [n, c, h, w] = x.shape;
      const q = x.view([n, c, h * w]);
      const energy = q.matmul(q.permute([0, 2, 1])); // [N, C, C]
      // the official code subtracts from the row maximum: the most similar channels weigh least
      const attention = energy.amax([-1], true).sub(energy).softmax(-1);
      return attention.matmul(q).view([n, c, h, w]).mul(this.gamma).add(x);
    });
  }
}
