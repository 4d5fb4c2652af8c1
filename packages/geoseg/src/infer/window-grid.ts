// The window grid shared by prediction and evaluation: windows spread evenly along each axis
// (as many as the tiler would use, first at 0, last at the border), and the per-axis blending
// totals that make the blend separable: a pixel's total weight is rowTotal(y) · colTotal(x).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { planTiles } from '../data/tiling.js';

/**
 * Window start offsets along one axis: as many windows as the tiler would use (stride from the
 * overlap, the last window at the border), spread evenly, so every overlap is at least the asked
 * one and none is much larger (the tiler's snapped last window can overlap its neighbour by
 * almost a whole window, and the rows carried between window rows would grow with it).
 */
export function windowStarts(size: number, window: number, overlap: number): number[] {
  const n = planTiles(size, 1, { tile: window, overlap, minTile: 32 }).length;
  if (n === 1) return [0];
  return Array.from({ length: n }, (_, k) => Math.round((k * (size - window)) / (n - 1)));
}

/** Total blending weight along one axis: the sum of the profile over the windows covering each position. */
export function axisTotal(starts: number[], length: number, profile: Tensor): Tensor {
  const total = torch.zeros([length]);
  for (const s of starts) total.narrow(0, s, profile.shape[0]).add_(profile);
  return total;
}

/** The windows of a width × height scene: column starts `xs` and row starts `ys`, window side `size`. */
export interface WindowGrid {
  width: number;
  height: number;
  size: number;
  xs: number[];
  ys: number[];
}

export function windowGrid(width: number, height: number, size: number, overlap: number): WindowGrid {
  return { width, height, size, xs: windowStarts(width, size, overlap), ys: windowStarts(height, size, overlap) };
}

/** The end of the rows [ys[r], rowEnd(r)) that are complete once window row r is done. */
export function rowEnd(g: WindowGrid, r: number): number {
  return r + 1 < g.ys.length ? g.ys[r + 1] : Math.min(g.height, g.ys[r] + g.size);
}

/** The first window row to predict when rows [0, done) are already finished (its carry was in memory: redone). */
export function firstRowAfter(g: WindowGrid, done: number): number {
  if (done <= 0) return 0;
  return done >= g.height ? g.ys.length : g.ys.findIndex((y0) => y0 + g.size > done);
}
