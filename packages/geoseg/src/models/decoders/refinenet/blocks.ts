// RefineNet's blocks (Lin et al., CVPR 2017), as the FactSeg repository's baseline builds them:
// residual conv units (RCU: ReLU, 3×3 conv with bias, ReLU, 3×3 conv; the skip adds the ReLU'd
// input, as the reference's in-place ReLU makes it), multi-resolution fusion (each path's 3×3
// `resolve` conv, the coarser one upsampled ×2 bilinearly with align_corners true, summed) and
// chained residual pooling (ReLU, then three 5×5 max-pool + 3×3 conv stages, each one's output
// added to the sum). No batch norm, as the paper.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

export class ResidualConvUnit extends nn.Module {
  declare readonly conv1: nn.Conv2d;
  declare readonly conv2: nn.Conv2d;

  constructor(c: number) {
    super();
    this.registerModule('conv1', new nn.Conv2d(c, c, 3, { padding: 1 }));
    this.registerModule('conv2', new nn.Conv2d(c, c, 3, { padding: 1, bias: false }));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const r = x.relu();
      return this.conv2.forward(this.conv1.forward(r).relu_()).add_(r);
    });
  }
}

/** Two RCUs in a row (the paths' `rcu0`, `rcu1` and the final output's first part). */
export const twoRCUs = (c: number) => new nn.Sequential(new ResidualConvUnit(c), new ResidualConvUnit(c));

export class MultiResolutionFusion extends nn.Module {
  declare readonly resolve0: nn.Conv2d;
  declare readonly resolve1: nn.Conv2d;

  /** coarseC: the coarser path's channels; fineC the finer's; both become outC. */
  constructor(coarseC: number, fineC: number, outC: number) {
    super();
    this.registerModule('resolve0', new nn.Conv2d(coarseC, outC, 3, { padding: 1, bias: false }));
    this.registerModule('resolve1', new nn.Conv2d(fineC, outC, 3, { padding: 1, bias: false }));
  }

  forward(coarse: Tensor, fine: Tensor): Tensor {
    return torch.tidy(() => {
      const c = this.resolve0.forward(coarse);
      const up = nn.functional.interpolate(c, { size: [fine.shape[2]!, fine.shape[3]!], mode: 'bilinear', alignCorners: true });
      return up.add_(this.resolve1.forward(fine));
    });
  }
}

export class ChainedResidualPool extends nn.Module {
  private readonly blocks: nn.Sequential[] = [];

  constructor(c: number) {
    super();
    for (let i = 1; i <= 3; i++) {
      this.blocks.push(this.registerModule(`block${i}`, new nn.Sequential(new nn.MaxPool2d(5, { stride: 1, padding: 2 }), new nn.Conv2d(c, c, 3, { padding: 1, bias: false }))));
    }
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let sum = x.relu();
      let path = sum;
      for (const block of this.blocks) {
        path = block.forward(path);
        sum = sum.add(path);
      }
      return sum;
    });
  }
}

/** One refinement stage: RCUs per input path, their fusion (two paths), chained pooling, an output RCU. */
export class RefineNetBlock extends nn.Module {
  declare readonly rcu0: nn.Sequential;
  declare readonly rcu1?: nn.Sequential;
  declare readonly mrf?: MultiResolutionFusion;
  declare readonly crp: ChainedResidualPool;
  declare readonly output_conv: ResidualConvUnit;

  /** coarseC: the path from the stage below (or the only path); fineC: the encoder's path, if any. */
  constructor(coarseC: number, outC: number, fineC?: number) {
    super();
    this.registerModule('rcu0', twoRCUs(coarseC));
    if (fineC !== undefined) {
      this.registerModule('rcu1', twoRCUs(fineC));
      this.registerModule('mrf', new MultiResolutionFusion(coarseC, fineC, outC));
    }
    this.registerModule('crp', new ChainedResidualPool(outC));
    this.registerModule('output_conv', new ResidualConvUnit(outC));
  }

  forward(coarse: Tensor, fine?: Tensor): Tensor {
    return torch.tidy(() => {
      const a = this.rcu0.forward(coarse);
      const joined = this.mrf && this.rcu1 && fine ? this.mrf.forward(a, this.rcu1.forward(fine)) : a;
      return this.output_conv.forward(this.crp.forward(joined));
    });
  }
}
