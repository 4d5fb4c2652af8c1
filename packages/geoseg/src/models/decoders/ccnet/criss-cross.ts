// Criss-cross attention (Huang et al. 2019), the official code's names: each pixel attends to the
// pixels of its row and its column (itself counted once: its column energy is masked), with one
// softmax over the H + W energies. Applied twice, information reaches every pixel from every other.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { QueryKeyValueAttention } from '../../attention.js';

export class CrissCrossAttention extends QueryKeyValueAttention {
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const h = x.shape[2];
      const q = this.query_conv.forward(x);
      const k = this.key_conv.forward(x);
      const v = this.value_conv.forward(x);
      // column energies [N, H, W, H'] (pixel (h, w) with (h', w)), the pixel itself masked
      const itself = torch.eye(h, { dtype: 'bool', device: x.device });
      const column = q.permute([0, 3, 2, 1]).matmul(k.permute([0, 3, 1, 2])).maskedFill(itself, -Infinity).permute([0, 2, 1, 3]);
      // row energies [N, H, W, W'] (pixel (h, w) with (h, w'))
      const row = q.permute([0, 2, 3, 1]).matmul(k.permute([0, 2, 1, 3]));
      const attention = torch.cat([column, row], 3).softmax(3);
      const toColumn = attention.narrow(3, 0, h).permute([0, 2, 3, 1]); // [N, W, H', H]
      const toRow = attention.narrow(3, h, x.shape[3]).transpose(2, 3); // [N, H, W', W]
      const fromColumn = v.permute([0, 3, 1, 2]).matmul(toColumn).permute([0, 2, 3, 1]); // [N, W, C, H] → [N, C, H, W]
      const fromRow = v.permute([0, 2, 1, 3]).matmul(toRow).permute([0, 2, 1, 3]); // [N, H, C, W] → [N, C, H, W]
      return fromColumn.add(fromRow).mul(this.gamma).add(x);
    });
  }
}
