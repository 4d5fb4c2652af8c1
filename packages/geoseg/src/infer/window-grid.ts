// The window grid shared by prediction and evaluation: windows spread evenly along each axis
// (as many as the tiler would use, first at 0, last at the border), or at a fixed stride (an
// evaluation protocol's), and the per-axis blending totals that make the blend separable: a
// pixel's total weight is rowTotal(y) · colTotal(x).
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

/**
 * The windows of a width × height scene: column starts `xs` and row starts `ys` of windows
 * `sizeX` wide and `sizeY` tall (square but for the strided layout on a scene smaller than a window).
 */
export interface WindowGrid {
  width: number;
  height: number;
  sizeX: number;
  sizeY: number;
  xs: number[];
  ys: number[];
}

export function windowGrid(width: number, height: number, size: number, overlap: number): WindowGrid {
  return { width, height, sizeX: size, sizeY: size, xs: windowStarts(width, size, overlap), ys: windowStarts(height, size, overlap) };
}

/**
 * Window starts along one axis at a fixed stride, the last window moved back to end at the border
 * (EVER/simplecv's sliding_window, which the FactSeg reproduction evaluates with): 0, s, 2s, …,
 * then size − window.
 */
export function stridedStarts(size: number, window: number, stride: number): number[] {
  const k = Math.min(window, size);
  const n = Math.ceil((size - k) / stride);
  return Array.from({ length: n + 1 }, (_, j) => Math.min(j * stride, size - k));
}

/**
 * The strided layout: windows of `size` (or of the scene's side rounded up to a multiple of 32 when
 * the scene is smaller, zero-padded past it) at a fixed stride.
 */
export function stridedWindowGrid(width: number, height: number, size: number, stride: number): WindowGrid {
  const side = (n: number) => Math.min(size, Math.ceil(n / 32) * 32);
  return { width, height, sizeX: side(width), sizeY: side(height), xs: stridedStarts(width, size, stride), ys: stridedStarts(height, size, stride) };
}

/** The end of the rows [ys[r], rowEnd(r)) that are complete once window row r is done. */
export function rowEnd(g: WindowGrid, r: number): number {
  return r + 1 < g.ys.length ? g.ys[r + 1] : Math.min(g.height, g.ys[r] + g.sizeY);
}

/** The first window row to predict when rows [0, done) are already finished (its carry was in memory: redone). */
export function firstRowAfter(g: WindowGrid, done: number): number {
  if (done <= 0) return 0;
  return done >= g.height ? g.ys.length : g.ys.findIndex((y0) => y0 + g.sizeY > done);
}

/** Part `index` of `count` of a scene's rows: window rows [r0, r1) (split evenly) and the scene rows [y0, y1) they finish. */
export function partOf(g: WindowGrid, index: number, count: number): { r0: number; r1: number; y0: number; y1: number } {
  const R = g.ys.length;
  if (!(Number.isInteger(count) && count >= 1 && count <= R && Number.isInteger(index) && index >= 0 && index < count)) throw new Error(`part ${index} of ${count}: the scene has ${R} window rows`);
  const r0 = Math.floor((index * R) / count);
  const r1 = Math.floor(((index + 1) * R) / count);
  return { r0, r1, y0: r0 === 0 ? 0 : rowEnd(g, r0 - 1), y1: rowEnd(g, r1 - 1) };
}
