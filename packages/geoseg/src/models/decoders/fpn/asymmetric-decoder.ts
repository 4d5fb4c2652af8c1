// The semantic FPN head (Kirillov et al. 2019, "Panoptic FPN"), as simplecv's AssymetricDecoder:
// each pyramid level gets log2(stride / 4) stages of 3×3 conv-BN-ReLU + ×2 bilinear upsampling
// (align_corners true; one stage without upsampling at stride 4), and the levels are averaged.
// On a dilated encoder (output stride 16 or 8) the deeper levels are already finer than their
// nominal stride: a stage whose level has reached the stride-4 size no longer upsamples.
// Names blocks.<level>.<stage>.{0,1} (conv, BN) as the reference's.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu } from '../../blocks.js';

export class AsymmetricDecoder extends nn.Module {
  declare readonly blocks: nn.ModuleList<nn.ModuleList<nn.Sequential>>;

  /** strides: the pyramid levels' strides (4, 8, 16, 32), outStride the output's (4). */
  constructor(inChannels: number, readonly outChannels = 128, strides: readonly number[] = [4, 8, 16, 32], outStride = 4) {
    super();
    const blocks = strides.map((s) => {
      const upsamplings = Math.log2(s) - Math.log2(outStride);
      if (!Number.isInteger(upsamplings) || upsamplings < 0) throw new Error(`AsymmetricDecoder: stride ${s} is not ${outStride}·2^k`);
      const stages = Array.from({ length: Math.max(upsamplings, 1) }, (_, j) => convBnRelu(j === 0 ? inChannels : outChannels, outChannels, 3));
      return new nn.ModuleList(stages);
    });
    this.registerModule('blocks', new nn.ModuleList(blocks));
  }

  /**
   * Pyramid features finest first → [N, outChannels, H/4, W/4]. In a tidy scope: the partial sums
   * and upsampled levels, which backward does not read, are freed now rather than held to the
   * end of the training step (−85 MB per decoder at 2×256×128², as Python frees them).
   */
  forward(features: Tensor[]): Tensor {
    return torch.tidy(() => this.sum(features));
  }

  private sum(features: Tensor[]): Tensor {
    let sum: Tensor | null = null;
    const finest = features[0]!.shape[2]!;
    let i = 0;
    for (const stages of this.blocks) {
      let y = features[i++]!;
      for (const stage of stages) {
        const z = stage.forward(y);
        // the stride-4 level, and any level already at its size, is not upsampled
        y = z.shape[2]! < finest ? nn.functional.interpolate(z, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }) : z;
      }
      // Out of place: the stride-4 level's y is a ReLU's output, which its backward reads.
      sum = sum ? sum.add(y) : y;
    }
    return sum!.div(this.blocks.length);
  }
}
