// Online hard example mining (OHEM) cross-entropy, as mmseg's OHEMPixelSampler selects pixels:
// keep the non-ignored pixels whose softmax probability of the true class is below `thresh`,
// and, when those are fewer than minKept, the minKept hardest ones (lowest probability; ties at
// the cut are all kept), or every non-ignored pixel if there are fewer. minKept counts pixels of
// the whole batch (mmseg's min_kept is per image: multiply by the batch size for its setting).
// The loss is the mean cross-entropy over the kept pixels (class weights as in `ce`); mmseg
// averages over every pixel instead, a value smaller by the share of dropped pixels.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { pixelCrossEntropy } from './cross-entropy.js';
import { classWeightsField, ignoreIndexField, parseLossOptions } from './options.js';
import { weightedMean } from './pixels.js';

export const ohemSchema = z.object({
  ignoreIndex: ignoreIndexField,
  classWeights: classWeightsField,
  thresh: z.number().min(0).max(1).default(0.7),
  minKept: z.number().int().min(0).default(100_000),
}).strict();
export type OhemOptions = z.input<typeof ohemSchema>;

export function ohemCrossEntropyLoss(logits: Tensor, target: Tensor, options: OhemOptions = {}): Tensor {
  const o = parseLossOptions('ohem', ohemSchema, options);
  return torch.tidy(() => {
    const { ce, weight, valid } = pixelCrossEntropy('ohem', logits, target, o.ignoreIndex, o.classWeights);
    const kept = torch.noGrad(() => {
      const trueProb = ce.neg().exp(); // p(true class) = exp(-ce)
      let keep = trueProb.lt(o.thresh);
      const k = Math.min(o.minKept, trueProb.numel());
      if (k > 0) {
        // k-th lowest probability among the valid pixels; ignored ones sort last (key 2 > any p),
        // so with fewer than k valid pixels the cut is 2 and every valid pixel is kept.
        const [cut] = trueProb.maskedFill(valid.logicalNot(), 2).flatten().kthvalue(k);
        keep = keep.logicalOr(trueProb.le(cut!));
      }
      return keep.logicalAnd(valid);
    });
    return weightedMean(ce, weight.mul(kept));
  });
}
