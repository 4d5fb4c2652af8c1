// A terminal table of segmentation scores: one row per class, then the summary lines.
import { foregroundMIoU, type SegmentationMetrics } from './scores.js';

const pct = (v: number) => (Number.isNaN(v) ? '—' : (100 * v).toFixed(2));
const percent = (v: number) => (Number.isNaN(v) ? '—' : `${pct(v)} %`);

/**
 * Per class: name, IoU, accuracy (recall), Dice and ground-truth pixels; then PA, mPA, mIoU,
 * FWIoU (percent, 2 decimals) and Cohen's kappa (4 decimals). NaN (a class absent from both
 * ground truth and prediction, or a score with no pixels behind it) is shown as '—'. With
 * `background` (a class index), the summary adds the mIoU over the other classes; with
 * `foregroundOnly` too, the background row is left out.
 */
export function formatMetricsTable(metrics: SegmentationMetrics, classNames: string[] = [], { background = null as number | null, foregroundOnly = false } = {}): string {
  const C = metrics.iou.length;
  const names = Array.from({ length: C }, (_, c) => classNames[c] ?? `class ${c}`);
  const header = ['class', 'IoU %', 'Acc %', 'Dice %', 'support px'];
  const rows = names.map((name, c) => [name, pct(metrics.iou[c]), pct(metrics.classAccuracy[c]), pct(metrics.dice[c]), String(metrics.support[c])])
    .filter((_, c) => !(foregroundOnly && c === background));
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ').trimEnd();
  const summary: [string, string][] = [
    ['PA', percent(metrics.pixelAccuracy)],
    ['mPA', percent(metrics.mPA)],
    ['mIoU', percent(metrics.mIoU)],
    ...(background !== null ? [[`mIoU without ${names[background]}`, percent(foregroundMIoU(metrics, background))] as [string, string]] : []),
    ['FWIoU', percent(metrics.fwIoU)],
    ['kappa', Number.isNaN(metrics.kappa) ? '—' : metrics.kappa.toFixed(4)],
  ];
  const labelWidth = Math.max(...summary.map(([k]) => k.length));
  return [
    line(header),
    ...rows.map(line),
    ...summary.map(([k, v]) => `${k.padEnd(labelWidth)}  ${v}`),
  ].join('\n');
}
