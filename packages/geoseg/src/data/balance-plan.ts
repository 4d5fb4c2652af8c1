// Which tiles offline class-balanced augmentation copies (`geoseg augment`): a greedy, seeded
// plan over the training tiles' class histograms.
//
// Shares are pixel shares over the training tiles as a sampler sees them (overlapping tiles count
// shared pixels once per tile): share_c = Σ_t h_t[c] / Σ_t Σ_k h_t[k]. Each step:
//   1. c* = the class (of those being raised) furthest below the target share (ties: lowest id);
//      stop when every such class has reached it or the tile budget is spent;
//   2. the candidate sources are the original training tiles whose own share of c* is above the
//      current share of c* (a copy of any other tile could not raise it) and that have been copied
//      fewer than `maxCopies` times; without a candidate, c* is given up (reported as stuck);
//   3. one candidate is drawn with probability proportional to its pixels of c* (mulberry32 from
//      the seed), a copy made (`make` augments it and returns the copy's histogram, which scaling
//      may change), and the copy's pixels are added to the totals.
// The plan is a pure function of the histograms, the options and what `make` returns.
import { mulberry32 } from './split.js';

export interface BalanceTile {
  id: number;
  histogram: number[];
}

export interface BalanceOptions {
  /** The share (0, 1) every class in `classes` should reach. */
  target: number;
  /** Class ids to raise. */
  classes: number[];
  /** At most this many copies in all. */
  maxTiles: number;
  /** At most this many copies of one source tile. */
  maxCopies: number;
  seed: number;
}

export interface BalanceCopy {
  /** Source tile id. */
  from: number;
  /** The class this copy was made for. */
  forClass: number;
  histogram: number[];
}

export interface BalanceResult {
  copies: BalanceCopy[];
  /** Pixel shares per class before and after. */
  before: number[];
  after: number[];
  /** Classes given up below the target: no tile left that could raise them. */
  stuck: number[];
  /** Why it stopped. */
  stopped: 'reached' | 'max-tiles' | 'stuck';
}

const shares = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => (total > 0 ? n / total : 0));
};

/** Plan (and, through `make`, carry out) the copies; see the file comment. */
export function balanceTiles(tiles: BalanceTile[], classCount: number, opts: BalanceOptions, make: (from: number, index: number, forClass: number) => number[]): BalanceResult {
  const counts = new Array(classCount).fill(0);
  for (const t of tiles) t.histogram.forEach((n, c) => { counts[c] += n; });
  const before = shares(counts);
  const rng = mulberry32(opts.seed >>> 0);
  const copiesOf = new Map<number, number>();
  const raising = new Set(opts.classes);
  const stuck: number[] = [];
  const copies: BalanceCopy[] = [];
  const tileShare = (t: BalanceTile, c: number) => {
    const n = t.histogram.reduce((a, b) => a + b, 0);
    return n > 0 ? t.histogram[c] / n : 0;
  };
  for (;;) {
    const now = shares(counts);
    let worst = -1;
    for (const c of [...raising].sort((a, b) => a - b)) {
      if (now[c] < opts.target && (worst < 0 || opts.target - now[c] > opts.target - now[worst])) worst = c;
    }
    if (worst < 0) return { copies, before, after: now, stuck, stopped: stuck.length ? 'stuck' : 'reached' };
    if (copies.length >= opts.maxTiles) return { copies, before, after: now, stuck, stopped: 'max-tiles' };
    const candidates = tiles.filter((t) => tileShare(t, worst) > now[worst] && (copiesOf.get(t.id) ?? 0) < opts.maxCopies);
    if (candidates.length === 0) {
      raising.delete(worst);
      stuck.push(worst);
      continue;
    }
    const total = candidates.reduce((a, t) => a + t.histogram[worst], 0);
    let r = rng() * total;
    const source = candidates.find((t) => (r -= t.histogram[worst]) < 0) ?? candidates[candidates.length - 1];
    const histogram = make(source.id, copies.length, worst);
    copiesOf.set(source.id, (copiesOf.get(source.id) ?? 0) + 1);
    histogram.forEach((n, c) => { counts[c] += n; });
    copies.push({ from: source.id, forClass: worst, histogram });
  }
}
