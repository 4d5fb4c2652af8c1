// Soft Jaccard (IoU) loss: 1 - mean_c (Σ p g + s) / (Σ p + Σ g - Σ p g + s), over the selected
// classes (default: those present in the target).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { classesField, ignoreIndexField, parseLossOptions, smoothField } from './options.js';
import { divideOrZero } from './pixels.js';
import { classMask, meanOverClasses, softCounts } from './soft-counts.js';

export const jaccardSchema = z.object({
  ignoreIndex: ignoreIndexField,
  smooth: smoothField,
  classes: classesField,
}).strict();
export type JaccardOptions = z.input<typeof jaccardSchema>;

export function jaccardLoss(logits: Tensor, target: Tensor, options: JaccardOptions = {}): Tensor {
  const o = parseLossOptions('jaccard', jaccardSchema, options);
  return torch.tidy(() => {
    const { overlap, predicted, actual } = softCounts('jaccard', logits, target, o.ignoreIndex);
    const iou = divideOrZero(overlap.add(o.smooth), predicted.add(actual).sub(overlap).add(o.smooth));
    return meanOverClasses(iou.rsub(1), classMask('jaccard', o.classes, actual));
  });
}
