// Soft per-class counts from the softmax, the ingredients of the region losses (dice, gdice,
// tversky, jaccard), and the choice of classes they average over. Counts are summed over the
// whole batch and over non-ignored pixels only.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../errors.js';
import type { ClassSelection } from './options.js';
import { checkLossInputs, divideOrZero, labelsOf, oneHotLabels } from './pixels.js';

export interface SoftCounts {
  /** [C] Σ p·g: soft true positives (intersection). */
  overlap: Tensor;
  /** [C] Σ p: predicted mass of each class. */
  predicted: Tensor;
  /** [C] Σ g: ground-truth pixels of each class. */
  actual: Tensor;
}

export function softCounts(loss: string, logits: Tensor, target: Tensor, ignoreIndex: number): SoftCounts {
  const labels = labelsOf(checkLossInputs(loss, logits, target), ignoreIndex);
  const probs = logits.softmax(1).mul(labels.valid.unsqueeze(1));
  const truth = oneHotLabels(labels, logits.shape[1]!, logits.dtype);
  const dims = [0, 2, 3];
  return { overlap: probs.mul(truth).sum(dims), predicted: probs.sum(dims), actual: truth.sum(dims) };
}

/**
 * 0/1 mask [..., C] of the classes to average over, from ground-truth counts [..., C]. A row
 * (batch or image) without any labelled pixel selects nothing, whatever the selection.
 */
export function classMask(loss: string, selection: ClassSelection, actual: Tensor): Tensor {
  const classes = actual.shape[actual.shape.length - 1]!;
  const labelled = actual.sum(-1, true).gt(0);
  if (selection === 'present') return actual.gt(0).to(actual.dtype);
  if (selection === 'all') return labelled.to(actual.dtype).expand(actual.shape);
  const bad = selection.find((c) => c >= classes);
  if (bad !== undefined) throw new ModelConfigError(`loss ${loss}: classes contains ${bad}, expected class ids below ${classes} (the logits' classes)`);
  const chosen = Array.from({ length: classes }, (_, c) => (selection.includes(c) ? 1 : 0));
  return torch.tensor(chosen, { dtype: actual.dtype, device: actual.device }).mul(labelled);
}

/** Mean of per-class losses [..., C] over the classes in `mask` → [...]; 0 where none is. */
export function meanOverClasses(losses: Tensor, mask: Tensor): Tensor {
  return divideOrZero(losses.mul(mask).sum(-1), mask.sum(-1));
}
