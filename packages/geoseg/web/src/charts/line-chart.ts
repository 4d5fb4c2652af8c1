// A small SVG line chart: one or more series of (x, y) points, linear axes with round ticks.
import { svg } from '../dom.ts';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  series: Series[];
  /** Tick label text (default: up to 3 significant digits). */
  format?: (v: number) => string;
  width?: number;
  height?: number;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function extent(values: number[]): [number, number] {
  // a loop, not Math.min(...values): spreading a long log (~100k points) overflows the call stack
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

export function lineChart(o: LineChartOptions): SVGSVGElement {
  const W = o.width ?? 420, H = o.height ?? 240;
  const m = { left: 56, right: 12, top: 28, bottom: 36 };
  const fmt = o.format ?? ((v: number) => String(Number(v.toPrecision(3))));
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': o.title });
  root.append(svg('text', { x: m.left, y: 16, class: 'chart-title' }, o.title));
  if (all.length === 0) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'muted' }, 'no data yet'));
    return root;
  }
  const [x0, x1] = extent(all.map((p) => p[0]));
  const [y0, y1] = extent(all.map((p) => p[1]));
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (W - m.left - m.right);
  const sy = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  for (const t of niceTicks(y0, y1, 4)) {
    root.append(svg('line', { x1: m.left, x2: W - m.right, y1: sy(t), y2: sy(t), class: 'grid-line' }),
      svg('text', { x: m.left - 6, y: sy(t) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(t)));
  }
  for (const t of niceTicks(x0, x1, 5)) {
    root.append(svg('text', { x: sx(t), y: H - m.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, String(t)));
  }
  root.append(svg('text', { x: W - m.right, y: H - 4, 'text-anchor': 'end', class: 'axis-label' }, o.xLabel));
  for (const s of o.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    root.append(svg('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 1.8, 'data-series': s.name }));
    // a lone point has no line: mark every point when there are few
    if (pts.length <= 30) for (const [x, y] of pts) root.append(svg('circle', { cx: sx(x), cy: sy(y), r: 2.5, fill: s.color }, svg('title', {}, `${s.name} @${x}: ${fmt(y)}`)));
  }
  if (o.series.length > 1) {
    // legend on the title line, right-aligned
    let x = W - m.right;
    for (const s of [...o.series].reverse()) {
      x -= 7 * s.name.length + 18;
      root.append(svg('rect', { x, y: 7, width: 10, height: 10, fill: s.color }), svg('text', { x: x + 14, y: 16, class: 'tick' }, s.name));
    }
  }
  return root;
}
