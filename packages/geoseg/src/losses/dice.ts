// Soft Dice and generalized Dice.
//   dice:  1 - mean_c (2 Σ p_c g_c + s) / (Σ p_c + Σ g_c + s), over the selected classes
//          (default: those present in the target).
//   gdice: Sudre et al. 2017, 1 - (2 Σ_c w_c Σ p_c g_c + s) / (Σ_c w_c Σ (p_c + g_c) + s) with
//          w_c = 1 / (Σ g_c)². Classes absent from the target get w_c = 0 (1/0² is undefined);
//          the weights are scaled to sum to 1, which leaves the ratio unchanged when s = 0 and
//          keeps s meaningful next to weights as small as 1/pixels².
// Sums run over the batch and the non-ignored pixels.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { classesField, ignoreIndexField, parseLossOptions, smoothField } from './options.js';
import { divideOrZero } from './pixels.js';
import { classMask, meanOverClasses, softCounts } from './soft-counts.js';

export const diceSchema = z.object({
  ignoreIndex: ignoreIndexField,
  smooth: smoothField,
  classes: classesField,
}).strict();
export type DiceOptions = z.input<typeof diceSchema>;

export function diceLoss(logits: Tensor, target: Tensor, options: DiceOptions = {}): Tensor {
  const o = parseLossOptions('dice', diceSchema, options);
  return torch.tidy(() => {
    const { overlap, predicted, actual } = softCounts('dice', logits, target, o.ignoreIndex);
    const dice = divideOrZero(overlap.mul(2).add(o.smooth), predicted.add(actual).add(o.smooth));
    return meanOverClasses(dice.rsub(1), classMask('dice', o.classes, actual));
  });
}

export const generalizedDiceSchema = z.object({
  ignoreIndex: ignoreIndexField,
  smooth: smoothField,
}).strict();
export type GeneralizedDiceOptions = z.input<typeof generalizedDiceSchema>;

export function generalizedDiceLoss(logits: Tensor, target: Tensor, options: GeneralizedDiceOptions = {}): Tensor {
  const o = parseLossOptions('gdice', generalizedDiceSchema, options);
  return torch.tidy(() => {
    const { overlap, predicted, actual } = softCounts('gdice', logits, target, o.ignoreIndex);
    const present = actual.gt(0).to(actual.dtype);
    const inverseSquare = present.div(actual.clampMin(1).pow(2));
    const weight = divideOrZero(inverseSquare, inverseSquare.sum());
    const ratio = divideOrZero(weight.mul(overlap).sum().mul(2).add(o.smooth), weight.mul(predicted.add(actual)).sum().add(o.smooth));
    // No labelled pixel: no class has a weight, and the loss is 0 (not 1 - s/s by accident).
    return ratio.rsub(1).mul(present.amax());
  });
}
