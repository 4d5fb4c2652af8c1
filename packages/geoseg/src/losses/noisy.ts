// Noisy-label masking: per-pixel cross-entropy where the pixels the model finds implausible are
// dropped as probable label noise. A pixel is dropped when its loss -log p(true class) exceeds
// -log p_thr, i.e. when p(true class) < p_thr. As SegHZ (2.2) describes it, the loss threshold
// decays along a half cosine over training from −log 0.01 (4.61) to −log 0.1 (2.30), so the model
// first learns from nearly every pixel and later ignores more of the labels it contradicts (the
// cosine is in the loss threshold, not in p_thr: halfway, p_thr = √(0.01 · 0.1) = 0.032). The loss is the mean over kept pixels (class
// weights as in `ce`); the decision uses the unweighted loss.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { pixelCrossEntropy } from './cross-entropy.js';
import { classWeightsField, ignoreIndexField, parseLossOptions } from './options.js';
import { weightedMean } from './pixels.js';

const probability = z.number().min(0).max(1);

/** p_thr at training progress t ∈ [0, 1]: exp(−thr), thr = −log from + (log from − log to) · (1 − cos(π t)) / 2. */
export function noisyThreshold(progress: number, from = 0.01, to = 0.1): number {
  const t = Math.min(1, Math.max(0, progress));
  const start = -Math.log(from), end = -Math.log(to);
  return Math.exp(-(start + ((end - start) * (1 - Math.cos(Math.PI * t))) / 2));
}

export const noisySchema = z.object({
  ignoreIndex: ignoreIndexField,
  classWeights: classWeightsField,
  /** Training progress in [0, 1]; createLoss passes ctx.progress. */
  progress: z.number({ required_error: 'expected a number in [0, 1] (the training progress: pass ctx.progress)' }).min(0).max(1),
  /** p_thr at the start and at the end of training. */
  from: probability.default(0.01),
  to: probability.default(0.1),
}).strict();
export type NoisyOptions = z.input<typeof noisySchema>;

export function noisyLabelLoss(logits: Tensor, target: Tensor, options: NoisyOptions): Tensor {
  const o = parseLossOptions('noisy', noisySchema, options);
  const maxLoss = -Math.log(noisyThreshold(o.progress, o.from, o.to));
  return torch.tidy(() => {
    const { ce, weight } = pixelCrossEntropy('noisy', logits, target, o.ignoreIndex, o.classWeights);
    const kept = ce.detach().le(maxLoss);
    return weightedMean(ce, weight.mul(kept));
  });
}
