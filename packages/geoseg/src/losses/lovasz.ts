// Lovász-softmax loss (Berman, Rannen Triki and Blaschko, CVPR 2018): the Lovász extension of
// the Jaccard loss 1 - IoU_c, evaluated on the errors e_i = |g_{i,c} - p_{i,c}| of each class,
// averaged over the selected classes. Per class, with the errors sorted in decreasing order and
// g sorted alike, loss_c = Σ_k e_(k) (J_k - J_{k-1}), J_k = 1 - |G ∩ prefix_k| / |G ∪ prefix_k|.
//
// All classes (and, per image, all images) are computed at once: the errors are laid out as
// [groups, C, pixels] and sorted along the pixels. Ignored pixels get the key -1 so they sort
// after every real error (errors lie in [0, 1]) and enter with error 0: the prefix sums before
// them, hence every real pixel's weight, are those of the real pixels alone.
//
// perImage: the loss is computed for each image and averaged over the images that have at least
// one labelled pixel (Berman's reference counts a fully ignored image as a 0 in that mean).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { classesField, ignoreIndexField, parseLossOptions } from './options.js';
import { checkLossInputs, divideOrZero, labelsOf, oneHotLabels } from './pixels.js';
import { classMask, meanOverClasses } from './soft-counts.js';

export const lovaszSchema = z.object({
  ignoreIndex: ignoreIndexField,
  perImage: z.boolean().default(false),
  classes: classesField,
}).strict();
export type LovaszOptions = z.input<typeof lovaszSchema>;

export function lovaszSoftmaxLoss(logits: Tensor, target: Tensor, options: LovaszOptions = {}): Tensor {
  const o = parseLossOptions('lovasz', lovaszSchema, options);
  return torch.tidy(() => {
    const labels = labelsOf(checkLossInputs('lovasz', logits, target), o.ignoreIndex);
    const [n, classes, h, w] = logits.shape as [number, number, number, number];
    // [N, C, H, W] -> [groups, C, pixels]: one group per image, or the whole batch as one.
    const group = (x: Tensor) => (o.perImage ? x.reshape([n, classes, h * w]) : x.transpose(0, 1).reshape([1, classes, n * h * w]));
    const valid = group(labels.valid.unsqueeze(1).expand([n, classes, h, w]));
    const truth = group(oneHotLabels(labels, classes, logits.dtype));
    const errors = group(logits.softmax(1)).sub(truth).abs().mul(valid);

    const [, order] = errors.detach().maskedFill(valid.logicalNot(), -1).sort(2, true);
    const errorsSorted = errors.gather(2, order);
    const truthSorted = truth.gather(2, order);
    const gts = truthSorted.sum(2, true);
    const intersection = gts.sub(truthSorted.cumsum(2));
    const union = gts.add(truthSorted.rsub(1).cumsum(2)); // >= 1 at every position
    const jaccard = intersection.div(union).rsub(1);
    const zeros = torch.zeros([jaccard.shape[0]!, classes, 1], { dtype: jaccard.dtype, device: jaccard.device });
    const lovaszGrad = jaccard.diff(1, 2, zeros); // J_k - J_{k-1}, J_0 = 0

    const perClass = errorsSorted.mul(lovaszGrad).sum(2); // [groups, C]
    const mask = classMask('lovasz', o.classes, gts.squeeze(2));
    const perGroup = meanOverClasses(perClass, mask); // [groups]
    const counted = mask.amax(1); // groups with at least one selected class
    return divideOrZero(perGroup.mul(counted).sum(), counted.sum());
  });
}
