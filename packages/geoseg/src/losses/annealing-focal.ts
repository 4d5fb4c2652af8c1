// FarSeg's annealing softmax focal loss (Zheng et al. 2020): per-pixel cross-entropy weighted by
// the focal factor (1 − p_true)^γ, renormalised so the weights keep the loss's total
// (Σ ce / Σ ce·(1 − p)^γ), and annealed from plain cross-entropy to it along a half cosine:
//   scale = s + ½ (1 − s)(cos(π t / T) + 1) for t ≤ T, s after,
// with t the training progress and T = `until`. The weights are constants for the gradient, as in
// the reference. The sum is divided by (labelled pixels + batch size), the reference's normaliser.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { pixelCrossEntropy } from './cross-entropy.js';
import { ignoreIndexField, parseLossOptions } from './options.js';

export const annealingFocalSchema = z.object({
  ignoreIndex: ignoreIndexField,
  gamma: z.number().finite().min(0).default(2),
  /** Training progress in [0, 1]; createLoss passes ctx.progress. */
  progress: z.number({ required_error: 'expected a number in [0, 1] (the training progress: pass ctx.progress)' }).min(0).max(1),
  /** Progress at which the annealing ends (1/6: the reference's 10k of 60k iterations). */
  until: z.number().gt(0).max(1).default(1 / 6),
}).strict();
export type AnnealingFocalOptions = z.input<typeof annealingFocalSchema>;

/** The annealing weight at progress t: 1 at t = 0, the focal scale s at t ≥ until. */
export function annealedScale(scale: Tensor, progress: number, until: number): Tensor {
  if (progress > until) return scale;
  const c = 0.5 * (Math.cos((Math.PI * progress) / until) + 1);
  return scale.add(scale.neg().add(1).mul(c));
}

export function annealingFocalLoss(logits: Tensor, target: Tensor, options: AnnealingFocalOptions): Tensor {
  const o = parseLossOptions('annealing_focal', annealingFocalSchema, options);
  return torch.tidy(() => {
    const { ce, valid } = pixelCrossEntropy('annealing_focal', logits, target, o.ignoreIndex);
    const scale = torch.noGrad(() => {
      const c = ce.detach();
      const focal = c.neg().expm1().neg().pow(o.gamma); // (1 − p_true)^γ, p_true = exp(−ce); 0 where ignored (ce 0)
      const focalSum = c.mul(focal).sum();
      // Nothing to reweight (every loss 0): weights 1, not 0/0.
      const normaliser = torch.where(focalSum.gt(0), c.sum().div(focalSum), 1);
      return annealedScale(focal.mul(normaliser), o.progress, o.until);
    });
    return ce.mul(scale).sum().div(valid.sum().add(logits.shape[0]!).to(logits.dtype));
  });
}
