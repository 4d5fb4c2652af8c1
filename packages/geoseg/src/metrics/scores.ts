// Segmentation scores from a confusion matrix m[gt][pred] of pixel counts.
//
// Per class c, with tp = m[c][c], gt = Σ_j m[c][j] (support), pr = Σ_i m[i][c], N = Σ m:
//   IoU       = tp / (gt + pr − tp)        Dice (F1) = 2 tp / (gt + pr)
//   recall    = tp / gt  (= class accuracy) precision = tp / pr
// A ratio whose denominator is 0 is NaN (0/0: undefined, not 0). So a class absent from both the
// ground truth and the prediction gets NaN everywhere, a class predicted but absent from the
// ground truth gets IoU 0 and Dice 0 (recall NaN), a class never predicted gets precision NaN.
// Means (mPA, mIoU, mDice) are over the classes whose value is not NaN (mmseg's nanmean
// convention): mIoU and mDice skip only classes absent from both, mPA skips classes without
// ground truth.
//   pixelAccuracy = Σ tp / N
//   fwIoU         = Σ_{c: gt>0} (gt / N) · IoU
//   kappa         = (po − pe) / (1 − pe), po = pixelAccuracy, pe = Σ_c gt_c · pr_c / N²
//                   (Cohen's kappa; NaN when pe = 1, e.g. a single class in both)
// An empty matrix (N = 0) gives NaN for everything but support and total.
import { GeosegError } from '../errors.js';
import { checkSquareCounts } from './confusion.js';

export interface SegmentationMetrics {
  /** Correct pixels / labelled pixels. */
  pixelAccuracy: number;
  /** Per-class accuracy = recall (NaN for classes without ground-truth pixels). */
  classAccuracy: number[];
  /** Mean per-class accuracy over classes with ground truth. */
  mPA: number;
  iou: number[];
  mIoU: number;
  /** Frequency-weighted IoU. */
  fwIoU: number;
  /** Per-class Dice = F1. */
  dice: number[];
  mDice: number;
  precision: number[];
  recall: number[];
  /** Cohen's kappa. */
  kappa: number;
  /** Ground-truth pixels per class. */
  support: number[];
  /** Labelled pixels counted. */
  total: number;
}

const ratio = (a: number, b: number) => (b === 0 ? NaN : a / b);

/** Mean of the non-NaN values (NaN when there are none). */
export function nanMean(values: number[]): number {
  const ok = values.filter((v) => !Number.isNaN(v));
  return ok.length === 0 ? NaN : ok.reduce((s, v) => s + v, 0) / ok.length;
}

/** Every score of a confusion matrix m[gt][pred] (see the conventions at the top of this file). */
export function segmentationMetrics(matrix: number[][], classNames?: string[]): SegmentationMetrics {
  const C = checkSquareCounts(matrix, 'segmentationMetrics');
  if (classNames && classNames.length !== C) throw new GeosegError(`segmentationMetrics: ${classNames.length} class names for a ${C}×${C} matrix`);
  const classes = [...Array(C).keys()];
  const tp = classes.map((c) => matrix[c][c]);
  const support = classes.map((c) => matrix[c].reduce((s, v) => s + v, 0));
  const predicted = classes.map((c) => matrix.reduce((s, row) => s + row[c], 0));
  const total = support.reduce((s, v) => s + v, 0);
  const correct = tp.reduce((s, v) => s + v, 0);

  const iou = classes.map((c) => ratio(tp[c], support[c] + predicted[c] - tp[c]));
  const dice = classes.map((c) => ratio(2 * tp[c], support[c] + predicted[c]));
  const recall = classes.map((c) => ratio(tp[c], support[c]));
  const precision = classes.map((c) => ratio(tp[c], predicted[c]));
  const pixelAccuracy = ratio(correct, total);
  const fwIoU = total === 0 ? NaN : classes.reduce((s, c) => (support[c] > 0 ? s + (support[c] / total) * iou[c] : s), 0);
  const pe = total === 0 ? NaN : classes.reduce((s, c) => s + support[c] * predicted[c], 0) / (total * total);
  const kappa = ratio(pixelAccuracy - pe, 1 - pe);
  return {
    pixelAccuracy,
    classAccuracy: recall.slice(),
    mPA: nanMean(recall),
    iou,
    mIoU: nanMean(iou),
    fwIoU,
    dice,
    mDice: nanMean(dice),
    precision,
    recall,
    kappa,
    support,
    total,
  };
}

/** The mean IoU over every class but `background` (absent classes skipped, as in mIoU). */
export function foregroundMIoU(metrics: SegmentationMetrics, background: number): number {
  return nanMean(metrics.iou.filter((_, c) => c !== background));
}
