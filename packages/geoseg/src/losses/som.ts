// Small object mining (SOM, FactSeg, Ma et al. 2021): the mean of the largest `ratio` of a batch's
// per-pixel losses, so the few pixels of small objects that the model gets wrong are not averaged
// away by the many easy background pixels. As the reference: k = ⌊ratio · N·H·W⌋ of all pixels,
// ignored pixels (loss 0) included in the ranking; the mean is over the chosen values that are
// not 0. With ratio 1 and no ignored pixels it is the plain mean. `som` is cross-entropy mined
// this way (with class weights, the weighted pixel losses); `cp` mines its joint-probability loss
// with its option `som`.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { pixelCrossEntropy } from './cross-entropy.js';
import { classWeightsField, ignoreIndexField, parseLossOptions } from './options.js';
import { divideOrZero } from './pixels.js';

/** The share of pixels SOM keeps, in (0, 1]. */
export const somRatioField = z.number().gt(0).max(1);

/** SOM of a per-pixel loss map (any shape, ≥ 0, 0 at ignored pixels) → scalar. */
export function smallObjectMining(pixelLoss: Tensor, ratio: number): Tensor {
  return torch.tidy(() => {
    const flat = pixelLoss.flatten();
    const k = Math.floor(ratio * flat.numel());
    if (k === 0) return flat.sum().mul(0);
    const [top] = flat.topk(k);
    return divideOrZero(top.sum(), top.ne(0).sum().to(top.dtype));
  });
}

export const somSchema = z.object({
  ignoreIndex: ignoreIndexField,
  classWeights: classWeightsField,
  ratio: somRatioField.default(0.1),
}).strict();
export type SomOptions = z.input<typeof somSchema>;

export function somLoss(logits: Tensor, target: Tensor, options: SomOptions = {}): Tensor {
  const o = parseLossOptions('som', somSchema, options);
  return torch.tidy(() => {
    const { ce, weight } = pixelCrossEntropy('som', logits, target, o.ignoreIndex, o.classWeights);
    // With class weights the weighted pixel losses are ranked (as cp's mining does).
    return smallObjectMining(o.classWeights ? ce.mul(weight) : ce, o.ratio);
  });
}
