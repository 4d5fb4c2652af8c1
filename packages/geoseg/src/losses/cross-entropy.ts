// Cross-entropy with optional class weights and label smoothing, through ATen's
// cross_entropy_loss, which is what torch.nn.functional.cross_entropy calls: same semantics as
// PyTorch. With class weights w and smoothing ε over C classes, the mean is
//   Σ_i w_{y_i} [(1-ε)(-log p_{i,y_i}) + (ε/C) Σ_c (w_c / w_{y_i}) (-log p_{i,c})] / Σ_i w_{y_i}
// over non-ignored pixels i: the smoothing term is weighted per class c and, like the main term,
// normalised by the summed weights of the true classes.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { classWeightsField, ignoreIndexField, parseLossOptions } from './options.js';
import { checkLossInputs, divideOrZero, labelsOf, perClassTensor, type Labels } from './pixels.js';

export const crossEntropySchema = z.object({
  ignoreIndex: ignoreIndexField,
  classWeights: classWeightsField,
  labelSmoothing: z.number().min(0).max(1).default(0),
}).strict();
export type CrossEntropyOptions = z.input<typeof crossEntropySchema>;

// at::Reduction: 0 none, 1 mean, 2 sum
const REDUCTION_NONE = 0;
const REDUCTION_SUM = 2;

export function crossEntropyLoss(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const o = parseLossOptions('ce', crossEntropySchema, options);
  return torch.tidy(() => {
    const t = checkLossInputs('ce', logits, target);
    const weight = o.classWeights ? perClassTensor('ce', 'classWeights', o.classWeights, logits) : null;
    // ATen's mean divides by Σ w_{y_i}, which is 0/0 = NaN when every pixel is ignored; the sum
    // divided by that denominator (clamped) is the same mean, and 0 in that case.
    const sum = torch.crossEntropyLoss(logits, t, weight, REDUCTION_SUM, o.ignoreIndex, o.labelSmoothing);
    const { valid, safeTarget } = labelsOf(t, o.ignoreIndex);
    const denominator = weight ? weight.take(safeTarget).mul(valid) : valid.to(logits.dtype);
    return divideOrZero(sum, denominator.sum());
  });
}

export interface PixelCrossEntropy extends Labels {
  /** [N, H, W] unweighted cross-entropy, 0 at ignored pixels. */
  ce: Tensor;
  /** [N, H, W] each pixel's class weight (1 without class weights), 0 at ignored pixels. */
  weight: Tensor;
}

/** Per-pixel cross-entropy and weights, for the losses that choose pixels (ohem, noisy). */
export function pixelCrossEntropy(loss: string, logits: Tensor, target: Tensor, ignoreIndex: number, classWeights?: readonly number[]): PixelCrossEntropy {
  const t = checkLossInputs(loss, logits, target);
  const ce = torch.crossEntropyLoss(logits, t, null, REDUCTION_NONE, ignoreIndex);
  const labels = labelsOf(t, ignoreIndex);
  const weight = classWeights
    ? perClassTensor(loss, 'classWeights', classWeights, logits).take(labels.safeTarget).mul(labels.valid)
    : labels.valid.to(logits.dtype);
  return { ...labels, ce, weight };
}
