// Per-tile sampling weights for long-tailed classes, computed from the class histograms of the
// training tiles only (validation tiles get weight 0 and do not enter any frequency).
//
// Notation: h_t[c] = pixels of class c in tile t; n_t = Σ_c h_t[c] (labelled pixels of t);
// s_t[c] = h_t[c] / n_t (class share in t; 0 when n_t = 0);
// f_c = Σ_{t∈train} h_t[c] / Σ_{t∈train} n_t (global class frequency over the train tiles;
// overlapping tiles count shared pixels once per tile, as a sampler sees them).
//
// - classBalanced: w_t = Σ_{c: f_c>0} s_t[c] · (1 / f_c)^power, then scaled so the train
//   weights have mean 1. power 0 gives every labelled tile weight 1; power 1 weighs a tile by the
//   mean inverse frequency of its pixels. A tile without labelled pixels gets 0.
// - rareThreshold (the seeds' strategy): R = rare class ids (default: {c : f_c < 0.05});
//   r_t = Σ_{c∈R} s_t[c]; w_t = boost if r_t > threshold, else 1.
//
// Weights are indexed by tile id (an array of length max id + 1; ids without a tile get 0).
import { GeosegError } from '../errors.js';

export type SamplingStrategy = 'class-balanced' | 'rare-threshold';
export const SAMPLING_STRATEGIES: readonly SamplingStrategy[] = ['class-balanced', 'rare-threshold'];

export interface SamplingTile {
  id: number;
  histogram: number[];
}

export interface ClassBalancedOptions {
  /** Exponent on the inverse frequency, ≥ 0 (default 0.5). */
  power?: number;
}

export interface RareThresholdOptions {
  /** Rare class ids (default: classes whose train frequency is below `rareFrequency`). */
  rareClasses?: number[];
  /** Frequency below which a class is rare when `rareClasses` is not given (default 0.05). */
  rareFrequency?: number;
  /** Rare-pixel share a tile must exceed to be boosted (default 0.1). */
  threshold?: number;
  /** Weight of a boosted tile (default 4; others get 1). */
  boost?: number;
}

export interface ClassBalancedRecord {
  strategy: 'class-balanced';
  power: number;
  /** Per tile id; mean 1 over train tiles, 0 for val tiles. */
  weights: number[];
}

export interface RareThresholdRecord {
  strategy: 'rare-threshold';
  rareClasses: number[];
  threshold: number;
  boost: number;
  /** Train tiles boosted. */
  boosted: number;
  /** Per tile id; boost or 1 for train tiles, 0 for val tiles. */
  weights: number[];
}

export type SamplingRecord = ClassBalancedRecord | RareThresholdRecord;

function classCount(tiles: readonly SamplingTile[]): number {
  return tiles.reduce((m, t) => Math.max(m, t.histogram.length), 0);
}

/** Global class frequencies f_c over the training tiles (all 0 when they have no labelled pixel). */
export function trainFrequencies(tiles: readonly SamplingTile[], val: readonly number[] = [], classes = classCount(tiles)): number[] {
  const inVal = new Set(val);
  const sum = new Array<number>(classes).fill(0);
  for (const t of tiles) if (!inVal.has(t.id)) for (let c = 0; c < classes; c++) sum[c] += t.histogram[c] ?? 0;
  const total = sum.reduce((a, b) => a + b, 0);
  return sum.map((n) => (total > 0 ? n / total : 0));
}

function emptyWeights(tiles: readonly SamplingTile[]): number[] {
  return new Array<number>(tiles.reduce((m, t) => Math.max(m, t.id + 1), 0)).fill(0);
}

function labelled(t: SamplingTile): number {
  return t.histogram.reduce((a, b) => a + b, 0);
}

/** classBalanced weights (see the formulas at the top of this file). */
export function classBalanced(tiles: readonly SamplingTile[], val: readonly number[] = [], { power = 0.5 }: ClassBalancedOptions = {}): ClassBalancedRecord {
  if (!(Number.isFinite(power) && power >= 0)) throw new GeosegError(`sampling power ${power} must be a number ≥ 0`);
  const inVal = new Set(val);
  const f = trainFrequencies(tiles, val);
  const factor = f.map((fc) => (fc > 0 ? (1 / fc) ** power : 0));
  const weights = emptyWeights(tiles);
  let sum = 0;
  let train = 0;
  for (const t of tiles) {
    if (inVal.has(t.id)) continue;
    train++;
    const n = labelled(t);
    let w = 0;
    for (let c = 0; c < factor.length; c++) w += (t.histogram[c] ?? 0) * factor[c];
    if (n > 0) w /= n; // Σ_c s_t[c]·factor_c, dividing once
    weights[t.id] = w;
    sum += w;
  }
  if (!(sum > 0)) throw new GeosegError('class-balanced sampling: the training tiles have no labelled pixels');
  for (const t of tiles) if (!inVal.has(t.id)) weights[t.id] *= train / sum;
  return { strategy: 'class-balanced', power, weights };
}

/** rareThreshold weights (see the formulas at the top of this file). */
export function rareThreshold(tiles: readonly SamplingTile[], val: readonly number[] = [], opts: RareThresholdOptions = {}): RareThresholdRecord {
  const { rareFrequency = 0.05, threshold = 0.1, boost = 4 } = opts;
  if (!(rareFrequency > 0 && rareFrequency < 1)) throw new GeosegError(`rare frequency ${rareFrequency} must be in (0, 1)`);
  if (!(threshold >= 0 && threshold < 1)) throw new GeosegError(`rare-share threshold ${threshold} must be in [0, 1)`);
  if (!(Number.isFinite(boost) && boost > 0)) throw new GeosegError(`boost ${boost} must be a number > 0`);
  const C = classCount(tiles);
  const f = trainFrequencies(tiles, val, C);
  const rare = opts.rareClasses ? [...new Set(opts.rareClasses)].sort((a, b) => a - b) : f.flatMap((fc, c) => (fc < rareFrequency ? [c] : []));
  for (const c of rare) if (!(Number.isInteger(c) && c >= 0 && c < C)) throw new GeosegError(`rare class ${c} is not a class id (0..${C - 1})`);
  const inVal = new Set(val);
  const weights = emptyWeights(tiles);
  let boosted = 0;
  for (const t of tiles) {
    if (inVal.has(t.id)) continue;
    const n = labelled(t);
    const share = n > 0 ? rare.reduce((a, c) => a + (t.histogram[c] ?? 0), 0) / n : 0;
    weights[t.id] = share > threshold ? boost : 1;
    if (share > threshold) boosted++;
  }
  return { strategy: 'rare-threshold', rareClasses: rare, threshold, boost, boosted, weights };
}
