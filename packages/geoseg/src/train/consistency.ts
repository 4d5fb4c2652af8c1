// Multi-view consistency (SegHZ 2.4): the same crops under flips / rotations go through the model
// too, each view's class probabilities are mapped back, and an MSE term pulls every view towards
// their mean; optionally the pixels where the views' classes disagree get extra weight in a
// negative log-likelihood term (view-disagreement hard-pixel mining).
//
//   consistency = weight · mean over views, pixels and classes of (p_v − p̄)²
//   mining      = mining · Σ_{labelled pixels where some view's class ≠ the base view's} −log p_0(label) / (labelled pixels)
//
// p_0 is the base (untransformed) view's probabilities, p̄ the mean over the base and the other
// views; probabilities are the architecture's own (softmax of `out`, FactSeg's joint probability…).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { ttaTransforms, type TtaTransform } from '../infer/tta.js';

export interface ConsistencyOptions {
  /** Weight of the MSE between the views' probabilities and their mean. */
  weight: number;
  /** The other views: TTA transform names (lr, tb, lrtb, transpose, antitranspose, rot90, rot270) or a preset (flip, d4). */
  views: string | string[];
  /** Weight of the extra loss on pixels the views disagree about (0: none). */
  mining: number;
}

export interface ConsistencyTerms {
  consistency: Tensor;
  mining: Tensor | null;
}

/** The views besides the base one (identity dropped); unknown names are refused. */
export function consistencyViews(views: string | string[]): TtaTransform[] {
  const transforms = ttaTransforms(views).filter((t) => t.name !== 'identity');
  return transforms;
}

/** Probabilities [N, C, H, W] of a model's outputs at the target's size. */
function atSize(p: Tensor, height: number, width: number): Tensor {
  return p.shape[2] === height && p.shape[3] === width ? p : torch.upsampleBilinear2d(p, [height, width], false);
}

/**
 * The consistency (and mining) terms of a batch: `base` are the model's outputs on `images`,
 * `forward` runs the model on another view, `probabilities` turns outputs into class probabilities.
 */
export function consistencyTerms(images: Tensor, base: Record<string, Tensor>, target: Tensor, ignoreIndex: number, opts: ConsistencyOptions,
  forward: (x: Tensor) => Record<string, Tensor>, probabilities: (outputs: Record<string, Tensor>) => Tensor): ConsistencyTerms {
  return torch.tidy(() => {
    const [H, W] = [target.shape[1]!, target.shape[2]!];
    const p0 = atSize(probabilities(base), H, W);
    const others = consistencyViews(opts.views).map((v) => v.undo(atSize(probabilities(forward(v.apply(images))), H, W)));
    const all = torch.stack([p0, ...others]); // [V, N, C, H, W]
    const consistency = all.sub(all.mean(0, true)).pow(2).mean().mul(opts.weight);
    if (opts.mining === 0 || others.length === 0) return { consistency, mining: null };
    const classes0 = p0.argmax(1);
    let disagree = torch.zerosLike(classes0, { dtype: 'bool' });
    for (const p of others) disagree = disagree.logicalOr(p.argmax(1).ne(classes0));
    const labelled = target.ne(ignoreIndex);
    const safeTarget = target.maskedFill(labelled.logicalNot(), 0).unsqueeze(1);
    const nll = p0.gather(1, safeTarget).squeeze(1).clampMin(1e-12).log().neg();
    const hard = disagree.logicalAnd(labelled);
    const mining = nll.mul(hard).sum().div(labelled.sum().clampMin(1)).mul(opts.mining);
    return { consistency, mining };
  });
}
