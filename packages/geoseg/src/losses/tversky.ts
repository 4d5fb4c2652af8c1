// Tversky loss (Salehi et al. 2017): 1 - mean_c (TP + s) / (TP + α FP + β FN + s) with soft
// TP = Σ p g, FP = Σ p (1 - g), FN = Σ (1 - p) g per class, over the selected classes. α weighs
// false positives, β false negatives; α = β = 0.5 is Dice (with s = 0).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { classesField, ignoreIndexField, parseLossOptions, smoothField } from './options.js';
import { divideOrZero } from './pixels.js';
import { classMask, meanOverClasses, softCounts } from './soft-counts.js';

export const tverskySchema = z.object({
  ignoreIndex: ignoreIndexField,
  alpha: z.number().finite().min(0).default(0.3),
  beta: z.number().finite().min(0).default(0.7),
  smooth: smoothField,
  classes: classesField,
}).strict();
export type TverskyOptions = z.input<typeof tverskySchema>;

export function tverskyLoss(logits: Tensor, target: Tensor, options: TverskyOptions = {}): Tensor {
  const o = parseLossOptions('tversky', tverskySchema, options);
  return torch.tidy(() => {
    const { overlap: tp, predicted, actual } = softCounts('tversky', logits, target, o.ignoreIndex);
    const fp = predicted.sub(tp);
    const fn = actual.sub(tp);
    const index = divideOrZero(tp.add(o.smooth), tp.add(fp.mul(o.alpha)).add(fn.mul(o.beta)).add(o.smooth));
    return meanOverClasses(index.rsub(1), classMask('tversky', o.classes, actual));
  });
}
