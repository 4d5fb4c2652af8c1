// The feature pyramid network (Lin et al. 2017) as simplecv and maskrcnn-benchmark build it, the
// neck of semantic FPN, FarSeg and FactSeg: a 1×1 lateral convolution per level (`fpn_inner1..4`),
// a top-down path adding each coarser sum upsampled ×2 (nearest), and a 3×3 output convolution per
// level (`fpn_layer1..4`). Convolutions have biases, initialised Kaiming-uniform (a = 1) with zero
// bias, as the reference's conv_with_kaiming_uniform.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

function kaimingConv(inC: number, outC: number, kernel: number): nn.Conv2d {
  const conv = new nn.Conv2d(inC, outC, kernel, { padding: (kernel - 1) / 2 });
  nn.init.kaimingUniform_(conv.weight, { a: 1 });
  nn.init.zeros_(conv.bias!);
  return conv;
}

export class FeaturePyramid extends nn.Module {
  readonly levels: number;
  private readonly inner: nn.Conv2d[] = [];
  private readonly layer: nn.Conv2d[] = [];

  /** inChannels: the levels' channels, finest first; every output has outChannels. */
  constructor(inChannels: readonly number[], readonly outChannels = 256) {
    super();
    this.levels = inChannels.length;
    inChannels.forEach((c, i) => {
      this.inner.push(this.registerModule(`fpn_inner${i + 1}`, kaimingConv(c, outChannels, 1)));
      this.layer.push(this.registerModule(`fpn_layer${i + 1}`, kaimingConv(outChannels, outChannels, 3)));
    });
  }

  /** Features finest first (each level half the size of the one before) → outputs finest first. */
  forward(features: Tensor[]): Tensor[] {
    // (in a tidy scope: the lateral sums, which backward does not read, are freed at once)
    return torch.tidy(() => this.levelsOf(features));
  }

  private levelsOf(features: Tensor[]): Tensor[] {
    if (features.length !== this.levels) throw new Error(`FeaturePyramid: expected ${this.levels} feature maps, got ${features.length}`);
    const last = this.levels - 1;
    let topDown = this.inner[last]!.forward(features[last]!);
    const outputs: Tensor[] = [this.layer[last]!.forward(topDown)];
    for (let i = last - 1; i >= 0; i--) {
      const lateral = this.inner[i]!.forward(features[i]!);
      const up = nn.functional.interpolate(topDown, { size: [lateral.shape[2]!, lateral.shape[3]!], mode: 'nearest' });
      topDown = lateral.add_(up);
      up.dispose();
      outputs.unshift(this.layer[i]!.forward(topDown));
    }
    return outputs;
  }
}
