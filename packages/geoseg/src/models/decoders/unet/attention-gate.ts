// The additive attention gate of Attention U-Net (Oktay et al. 2018), in the layout of the widely
// used LeeJunHyun/Image_Segmentation Attention_block: the gating signal g (the decoder's upsampled
// features) and the skip x are projected to `inter` channels (`W_g`, `W_x`: 1×1 conv + BN), added,
// and turned into one weight per pixel ψ = σ(BN(conv(ReLU(·)))) (`psi`) that scales the skip, so
// the decoder takes from the encoder only where the coarser context points.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

const projection = (inC: number, outC: number) => new nn.Sequential(new nn.Conv2d(inC, outC, 1), new nn.BatchNorm2d(outC));

export class AttentionGate extends nn.Module {
  declare readonly W_g: nn.Sequential;
  declare readonly W_x: nn.Sequential;
  declare readonly psi: nn.Sequential;

  constructor(gateChannels: number, skipChannels: number, inter = Math.max(Math.floor(skipChannels / 2), 1)) {
    super();
    this.registerModule('W_g', projection(gateChannels, inter));
    this.registerModule('W_x', projection(skipChannels, inter));
    this.registerModule('psi', new nn.Sequential(new nn.Conv2d(inter, 1, 1), new nn.BatchNorm2d(1), new nn.Sigmoid()));
  }

  /** The skip x weighted by the gate from g (same height and width). */
  forward(g: Tensor, x: Tensor): Tensor {
    return torch.tidy(() => x.mul(this.psi.forward(this.W_g.forward(g).add(this.W_x.forward(x)).relu_())));
  }
}
