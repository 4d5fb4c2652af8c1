// FactSeg's joint probability (CP) loss (Ma et al. 2021): the semantic branch's class softmax s
// (output `out`) and the foreground branch's probability f = σ(b) (output `binary`, one channel)
// give p₀ = (1 − f)·s₀ for the background and p_c = f·s_c for the other classes, renormalised over
// the classes; the loss is the negative log-likelihood of p at the true class, averaged over the
// non-ignored pixels (weighted by class weights, as cross-entropy). Computed in log space:
// log p = log s + log w − logsumexp_c(log s + log w), with log w = logσ(−b) for class 0, logσ(b) else.
// With `som` (FactSeg's training default, 0.1) the per-pixel losses are reduced by small object
// mining (som.ts) instead of the mean.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { InputShapeError } from '../errors.js';
import { classWeightsField, ignoreIndexField, parseLossOptions } from './options.js';
import { checkLossInputs, divideOrZero, labelsOf, perClassTensor } from './pixels.js';
import { smallObjectMining, somRatioField } from './som.js';

export const jointProbabilitySchema = z.object({
  ignoreIndex: ignoreIndexField,
  classWeights: classWeightsField,
  /** Small object mining: the mean of the largest `som` share of the pixel losses. */
  som: somRatioField.optional(),
}).strict();
export type JointProbabilityOptions = z.input<typeof jointProbabilitySchema>;

const REDUCTION_NONE = 0;
const REDUCTION_SUM = 2;

/** log p [N, C, H, W]: the renormalised joint log-probability of semantic logits and a foreground logit [N, 1, H, W]. */
export function jointLogProbability(semantic: Tensor, foreground: Tensor): Tensor {
  const [n, c, h, w] = semantic.shape as [number, number, number, number];
  const fs = foreground.shape;
  if (fs.length !== 4 || fs[0] !== n || fs[1] !== 1 || fs[2] !== h || fs[3] !== w) {
    throw new InputShapeError(`joint probability: expected the foreground logit [${n}, 1, ${h}, ${w}], got [${fs.join(', ')}]`);
  }
  return torch.tidy(() => {
    const logW = torch.cat([torch.logSigmoid(foreground.neg()), torch.logSigmoid(foreground).expand([n, c - 1, h, w])], 1);
    const joint = torch.logSoftmax(semantic, 1).add(logW);
    return joint.sub(torch.logsumexp(joint, [1], true));
  });
}

/** The renormalised joint probability [N, C, H, W] (FactSeg's inference output). */
export function jointProbability(semantic: Tensor, foreground: Tensor): Tensor {
  return torch.tidy(() => jointLogProbability(semantic, foreground).exp());
}

export function jointProbabilityLoss(logits: Tensor, target: Tensor, options: JointProbabilityOptions = {}, outputs: Readonly<Record<string, Tensor>> = {}): Tensor {
  const o = parseLossOptions('cp', jointProbabilitySchema, options);
  return torch.tidy(() => {
    const t = checkLossInputs('cp', logits, target);
    const binary = outputs.binary;
    if (!binary) throw new InputShapeError("loss cp: needs the model output 'binary' (the foreground logit) beside 'out'");
    const logP = jointLogProbability(logits, binary);
    const weight = o.classWeights ? perClassTensor('cp', 'classWeights', o.classWeights, logits) : null;
    // Mining ranks the pixel losses, each times its class weight when there are weights.
    if (o.som !== undefined) return smallObjectMining(torch.nllLoss2d(logP, t, weight, REDUCTION_NONE, o.ignoreIndex), o.som);
    const sum = torch.nllLoss2d(logP, t, weight, REDUCTION_SUM, o.ignoreIndex);
    const { valid, safeTarget } = labelsOf(t, o.ignoreIndex);
    const denominator = weight ? weight.take(safeTarget).mul(valid) : valid.to(logits.dtype);
    return divideOrZero(sum, denominator.sum());
  });
}
