// Per-class IoU as horizontal bars in the class colours.
import type { ClassInfo } from '../api.ts';
import { rgb, svg } from '../dom.ts';

export function iouBars(iou: (number | null)[], classes: ClassInfo[]): SVGSVGElement {
  const names = iou.map((_, i) => classes[i]?.name ?? `class ${i}`);
  const labelW = Math.min(170, 16 + 7 * Math.max(...names.map((s) => s.length)));
  const row = 22, barW = 260;
  const W = labelW + barW + 60, H = 28 + iou.length * row;
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, 'data-testid': 'iou', role: 'img', 'aria-label': 'IoU per class' });
  root.append(svg('text', { x: 0, y: 16, class: 'chart-title' }, 'IoU per class (%)'));
  iou.forEach((v, i) => {
    const y = 26 + i * row;
    root.append(svg('text', { x: labelW - 8, y: y + 14, 'text-anchor': 'end', class: 'tick' }, names[i]),
      svg('rect', { x: labelW, y: y + 3, width: barW, height: row - 6, fill: '#f0f0f0' }),
      svg('rect', { x: labelW, y: y + 3, width: v === null ? 0 : barW * v, height: row - 6, fill: rgb(classes[i]?.color ?? [128, 128, 128]) }),
      svg('text', { x: labelW + barW + 6, y: y + 14, class: 'tick', 'data-class': i }, v === null ? 'n/a' : (100 * v).toFixed(1)));
  });
  return root;
}
