// Segmentation metrics: a confusion matrix accumulated in libtorch, the scores derived from it
// (IoU, accuracy, Dice, precision/recall, FWIoU, kappa) and a terminal table of them.
export { ConfusionMatrix } from './confusion.js';
export { foregroundMIoU, segmentationMetrics, type SegmentationMetrics } from './scores.js';
export { formatMetricsTable } from './format.js';
