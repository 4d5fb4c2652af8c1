// PointRend's point head as mmsegmentation's PointHead: an MLP (1×1 Conv1d + ReLU, `fcs.<i>.conv`)
// over each point's fine features with the point's coarse logits concatenated before every layer,
// then a Conv1d classifier (`fc_seg`) that also sees them. Initialised as mmseg's: the layers
// Kaiming-normal (fan out, ReLU) with zero bias, the classifier normal (std 0.01) with zero bias.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

class PointLayer extends nn.Module {
  declare readonly conv: nn.Conv1d;

  constructor(inC: number, outC: number) {
    super();
    this.registerModule('conv', new nn.Conv1d(inC, outC, 1));
    nn.init.kaimingNormal_(this.conv.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    nn.init.zeros_(this.conv.bias!);
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.conv.forward(x).relu_());
  }
}

export class PointHead extends nn.Module {
  declare readonly fcs: nn.ModuleList<PointLayer>;
  declare readonly fc_seg: nn.Conv1d;

  constructor(fineChannels: number, classes: number, channels = 256, layers = 3) {
    super();
    const fcs = Array.from({ length: layers }, (_, i) => new PointLayer((i === 0 ? fineChannels : channels) + classes, channels));
    this.registerModule('fcs', new nn.ModuleList(fcs));
    this.registerModule('fc_seg', new nn.Conv1d(channels + classes, classes, 1));
    nn.init.normal_(this.fc_seg.weight, 0, 0.01);
    nn.init.zeros_(this.fc_seg.bias!);
  }

  /** Fine features [N, Cf, P] and coarse logits [N, classes, P] at the same points → logits [N, classes, P]. */
  forward(fine: Tensor, coarse: Tensor): Tensor {
    return torch.tidy(() => {
      let x = fine;
      for (const layer of this.fcs) x = layer.forward(torch.cat([x, coarse], 1));
      return this.fc_seg.forward(torch.cat([x, coarse], 1));
    });
  }
}
