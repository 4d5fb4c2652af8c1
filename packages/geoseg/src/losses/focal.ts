// Multi-class focal loss (Lin et al. 2017) on the softmax:
//   FL_i = -α_{y_i} (1 - p_{i,y_i})^γ log p_{i,y_i},
// averaged over non-ignored pixels. α is one number for every class or one per class (of the
// pixel's true class). Class weights w act as in cross-entropy: each pixel's term is multiplied
// by w_{y_i} and the sum divided by Σ_i w_{y_i}, so γ = 0 without α is exactly `ce`.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { classWeightsField, ignoreIndexField, parseLossOptions } from './options.js';
import { checkLossInputs, divideOrZero, labelsOf, perClassTensor } from './pixels.js';

const nonNegative = z.number().finite().min(0);

export const focalSchema = z.object({
  ignoreIndex: ignoreIndexField,
  classWeights: classWeightsField,
  gamma: nonNegative.default(2),
  alpha: z.union([nonNegative, z.array(nonNegative).min(1)], {
    errorMap: () => ({ message: 'expected a number >= 0 or one number >= 0 per class' }),
  }).optional(),
}).strict();
export type FocalOptions = z.input<typeof focalSchema>;

export function focalLoss(logits: Tensor, target: Tensor, options: FocalOptions = {}): Tensor {
  const o = parseLossOptions('focal', focalSchema, options);
  return torch.tidy(() => {
    const t = checkLossInputs('focal', logits, target);
    const { valid, safeTarget } = labelsOf(t, o.ignoreIndex);
    const logp = logits.logSoftmax(1).gather(1, safeTarget.unsqueeze(1)).squeeze(1); // log p of the true class
    let term = logp.neg();
    if (o.gamma > 0) {
      // 1 - p as -expm1(log p): exact when p is close to 1. The clamp keeps the gradient of
      // (1 - p)^γ finite for γ < 1 when p rounds to 1.
      term = term.mul(logp.expm1().neg().clampMin(1e-12).pow(o.gamma));
    }
    if (typeof o.alpha === 'number') term = term.mul(o.alpha);
    else if (o.alpha) term = term.mul(perClassTensor('focal', 'alpha', o.alpha, logits).take(safeTarget));
    const weight = o.classWeights ? perClassTensor('focal', 'classWeights', o.classWeights, logits).take(safeTarget).mul(valid) : valid.to(logits.dtype);
    return divideOrZero(term.mul(weight).sum(), weight.sum());
  });
}
