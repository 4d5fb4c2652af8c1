// The confusion matrix as an SVG grid, normalized per row: a cell is the share of a true class's
// pixels predicted as each class (so the diagonal is per-class recall). Raw counts in tooltips.
import type { ClassInfo } from '../api.ts';
import { rgb, svg } from '../dom.ts';

/** Row-normalized matrix (rows = truth); a row without pixels is all null. */
export function normalizeRows(matrix: number[][]): (number | null)[][] {
  return matrix.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (total > 0 ? v / total : null));
  });
}

export function confusionMatrix(matrix: number[][], classes: ClassInfo[]): SVGSVGElement {
  const n = matrix.length;
  const names = Array.from({ length: n }, (_, i) => classes[i]?.name ?? `class ${i}`);
  const colors = Array.from({ length: n }, (_, i) => classes[i]?.color ?? [128, 128, 128]);
  const norm = normalizeRows(matrix);
  const cell = Math.max(26, Math.min(60, Math.floor(480 / Math.max(n, 1))));
  const labelW = Math.min(160, 14 + 7 * Math.max(...names.map((s) => s.length)));
  const top = Math.min(130, 20 + 6 * Math.max(...names.map((s) => s.length)));
  const left = labelW + 24;
  const W = left + n * cell + 10, H = top + n * cell + 28;
  const root = svg('svg', { class: 'chart confusion', viewBox: `0 0 ${W} ${H}`, width: W, height: H, 'data-testid': 'confusion', role: 'img', 'aria-label': 'confusion matrix' });
  root.append(svg('text', { x: left + (n * cell) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis-label' }, 'predicted class →'),
    svg('text', { x: 12, y: top + (n * cell) / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 12 ${top + (n * cell) / 2})` }, 'true class →'));
  for (let i = 0; i < n; i++) {
    // row label (truth) and column label (prediction), each with its class colour
    root.append(svg('rect', { x: left - 14, y: top + i * cell + cell / 2 - 5, width: 10, height: 10, fill: rgb(colors[i]) }),
      svg('text', { x: left - 18, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end', class: 'tick' }, names[i]));
    const cx = left + i * cell + cell / 2;
    root.append(svg('rect', { x: cx - 5, y: top - 14, width: 10, height: 10, fill: rgb(colors[i]) }),
      svg('text', { x: cx, y: top - 18, class: 'tick', transform: `rotate(-45 ${cx} ${top - 18})` }, names[i]));
  }
  for (let i = 0; i < n; i++) {
    const total = matrix[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) {
      const v = norm[i][j];
      const x = left + j * cell, y = top + i * cell;
      const shade = v === null ? 'none' : `rgba(33, 92, 168, ${(0.06 + 0.94 * v).toFixed(3)})`;
      const tip = `truth ${names[i]} → predicted ${names[j]}: ${matrix[i][j].toLocaleString('en-US')} px` + (v === null ? '' : ` (${(100 * v).toFixed(1)} % of ${total.toLocaleString('en-US')})`);
      root.append(svg('g', { class: 'cell', 'data-row': i, 'data-col': j },
        svg('rect', { x, y, width: cell, height: cell, fill: shade, stroke: '#ccc', 'stroke-width': 0.5 }),
        svg('text', { x: x + cell / 2, y: y + cell / 2 + 4, 'text-anchor': 'middle', class: v !== null && v > 0.55 ? 'cell-value on-dark' : 'cell-value' }, v === null ? '–' : (100 * v).toFixed(1)),
        svg('title', {}, tip)));
    }
  }
  return root;
}
