// The losses by name, as loss specs ("ce + 0.5 * dice") and configs refer to them.
import type { Tensor } from '@geoseg/torch';
import type { z } from 'zod';
import { crossEntropyLoss, crossEntropySchema } from './cross-entropy.js';
import { diceLoss, diceSchema, generalizedDiceLoss, generalizedDiceSchema } from './dice.js';
import { focalLoss, focalSchema } from './focal.js';
import { jaccardLoss, jaccardSchema } from './jaccard.js';
import { jointProbabilityLoss, jointProbabilitySchema } from './joint-probability.js';
import { lovaszSoftmaxLoss, lovaszSchema } from './lovasz.js';
import { noisyLabelLoss, noisySchema } from './noisy.js';
import { ohemCrossEntropyLoss, ohemSchema } from './ohem.js';
import { tverskyLoss, tverskySchema } from './tversky.js';
import { somLoss, somSchema } from './som.js';
import { annealingFocalLoss, annealingFocalSchema } from './annealing-focal.js';

export interface LossDefinition<S extends z.AnyZodObject = z.AnyZodObject> {
  /**
   * (logits [N, C, H, W], target [N, H, W], options, the model's outputs) → scalar; validates its
   * options. Only losses that declare `reads` look at the outputs.
   */
  // Method syntax on purpose: a definition for one schema is then usable where any schema is.
  fn(logits: Tensor, target: Tensor, options: z.input<S>, outputs?: Readonly<Record<string, Tensor>>): Tensor;
  /** Other model outputs the loss reads besides the one it is applied to (FactSeg's cp: binary). */
  reads?: readonly string[];
  /** The options (strict: unknown keys are errors), with their defaults. */
  schema: S;
  description: string;
}

const define = <S extends z.AnyZodObject>(d: LossDefinition<S>) => d;

export const LOSSES = {
  ce: define({ fn: crossEntropyLoss, schema: crossEntropySchema, description: 'cross-entropy; classWeights, labelSmoothing (PyTorch semantics)' }),
  focal: define({ fn: focalLoss, schema: focalSchema, description: 'focal loss on the softmax: gamma (2), alpha (scalar or per class), classWeights' }),
  dice: define({ fn: diceLoss, schema: diceSchema, description: 'soft Dice per class, averaged over the classes present (classes), smooth' }),
  gdice: define({ fn: generalizedDiceLoss, schema: generalizedDiceSchema, description: 'generalized Dice (Sudre 2017), class weights 1 / (ground-truth pixels)^2' }),
  lovasz: define({ fn: lovaszSoftmaxLoss, schema: lovaszSchema, description: 'Lovász-softmax (Berman 2018): perImage, classes (present)' }),
  tversky: define({ fn: tverskyLoss, schema: tverskySchema, description: 'Tversky: alpha (false positives, 0.3), beta (false negatives, 0.7); 0.5/0.5 is Dice' }),
  jaccard: define({ fn: jaccardLoss, schema: jaccardSchema, description: 'soft Jaccard (IoU) per class, averaged over the classes present' }),
  ohem: define({ fn: ohemCrossEntropyLoss, schema: ohemSchema, description: 'cross-entropy over hard pixels: p(true) < thresh (0.7), at least the minKept (100000) hardest in the batch' }),
  noisy: define({ fn: noisyLabelLoss, schema: noisySchema, description: 'cross-entropy dropping pixels with p(true) < p_thr, −log p_thr from −log 0.01 to −log 0.1 by cosine over training progress (SegHZ 2.2)' }),
  cp: define({ fn: jointProbabilityLoss, schema: jointProbabilitySchema, reads: ['binary'], description: 'FactSeg joint probability: NLL of softmax(out) joined with the foreground σ(binary), renormalised; classWeights, som (mining ratio)' }),
  som: define({ fn: somLoss, schema: somSchema, description: 'cross-entropy with small object mining (FactSeg): the mean of the largest ratio (0.1) of the pixel losses; classWeights' }),
  annealing_focal: define({ fn: annealingFocalLoss, schema: annealingFocalSchema, description: 'FarSeg annealing softmax focal loss: cross-entropy → normalised focal (gamma 2) by cosine until progress `until` (1/6)' }),
} satisfies Record<string, LossDefinition>;

export type LossName = keyof typeof LOSSES;
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

export function isLossName(name: string): name is LossName {
  return Object.prototype.hasOwnProperty.call(LOSSES, name);
}
