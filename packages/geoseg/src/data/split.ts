// Train/validation splits of a prepared dataset's tiles. Pure functions of the tile list and a
// seed: the same tiles and seed always give the same split.
//
// - random:      tiles shuffled with a seeded PRNG (mulberry32), the first round(f·n) go to val.
// - scene:       whole scenes, in seeded random order, go to val until it holds at least
//                round(f·n) tiles; every tile of a scene stays on one side, so overlapping tiles
//                never share pixels across the split.
// - max-entropy: the seeds' greedy method: round(f·n) times, add to val the tile that makes the
//                val class distribution's entropy largest (ties: lowest tile id). It works at
//                tile level and ignores the seed; like `random`, it can put a tile in val that
//                shares pixels with a train tile of the same scene when tiles overlap, which the
//                result reports (`leakRisk`, `leakPairs`); use `scene` to rule that out.
//
// Entropies are Shannon entropies in nats, H = −Σ_c p_c ln p_c (0 ln 0 = 0), of
// p_c = (Σ_tiles histogram[c]) / (Σ_tiles Σ_c histogram[c]) over the tiles of one side
// (0 for a side without labelled pixels).
import { globRegex } from './pairing.js';
import { GeosegError } from '../errors.js';

export type SplitStrategy = 'random' | 'scene' | 'max-entropy' | 'scenes';
export const SPLIT_STRATEGIES: readonly SplitStrategy[] = ['random', 'scene', 'max-entropy'];

/** What a split needs of a tile (a dataset.json tile record fits). */
export interface SplitTile {
  id: number;
  /** Index of the tile's scene. */
  scene: number;
  /** Top-left corner of the tile window in the scene, pixels. */
  x: number;
  y: number;
  /** Pixels per class id. */
  histogram: number[];
}

export interface SplitResult {
  /** Tile ids in the validation set, ascending. */
  val: number[];
  trainEntropy: number;
  valEntropy: number;
}

export interface SplitOptions {
  /** Share of tiles for validation, in (0, 1). */
  valFraction: number;
  /** PRNG seed, an integer in [0, 2^32) (not used by max-entropy). */
  seed?: number;
}

/** The split as dataset.json stores it, plus how many val/train tile pairs share pixels. */
export interface SplitRecord extends SplitResult {
  strategy: SplitStrategy;
  /** Strategy 'scenes': the pattern naming the validation scenes. */
  valScenes?: string;
  seed: number;
  valFraction: number;
  /** True when some val tile shares pixels with a train tile (tile-level split of overlapping tiles). */
  leakRisk: boolean;
  /** Number of (val tile, train tile) pairs of one scene whose windows overlap. */
  leakPairs: number;
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy of `items` driven by `rand`. */
export function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Shannon entropy (nats) of the distribution proportional to `counts`; 0 when all are 0. */
export function entropy(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 0;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log(c / total);
  return h;
}

/** Per-class pixel sums over the given tiles. */
export function classTotals(tiles: readonly SplitTile[], classes = tiles[0]?.histogram.length ?? 0): number[] {
  const sum = new Array<number>(classes).fill(0);
  for (const t of tiles) for (let c = 0; c < classes; c++) sum[c] += t.histogram[c] ?? 0;
  return sum;
}

/** Train and val entropies of a split given as val tile ids. */
export function splitEntropies(tiles: readonly SplitTile[], val: readonly number[]): { trainEntropy: number; valEntropy: number } {
  const inVal = new Set(val);
  return {
    trainEntropy: entropy(classTotals(tiles.filter((t) => !inVal.has(t.id)))),
    valEntropy: entropy(classTotals(tiles.filter((t) => inVal.has(t.id)))),
  };
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new GeosegError(`seed ${seed} must be an integer in [0, 4294967295]`);
  return seed;
}

/** Validates the fraction and returns the number of val tiles, round(f·n), which must leave ≥1 tile on each side. */
function valCount(n: number, valFraction: number): number {
  if (!(valFraction > 0 && valFraction < 1)) throw new GeosegError(`validation fraction ${valFraction} must be in (0, 1)`);
  const k = Math.round(valFraction * n);
  if (k < 1 || k > n - 1) {
    throw new GeosegError(`validation fraction ${valFraction} of ${n} tile${n === 1 ? '' : 's'} gives ${k} validation and ${n - k} training tiles; each side needs at least 1`);
  }
  return k;
}

function byId(tiles: readonly SplitTile[]): SplitTile[] {
  const sorted = [...tiles].sort((a, b) => a.id - b.id);
  for (let i = 1; i < sorted.length; i++) if (sorted[i].id === sorted[i - 1].id) throw new GeosegError(`tile id ${sorted[i].id} appears twice`);
  return sorted;
}

function result(tiles: readonly SplitTile[], val: number[]): SplitResult {
  val.sort((a, b) => a - b);
  return { val, ...splitEntropies(tiles, val) };
}

/** random: shuffle the tiles (in id order) with mulberry32(seed); the first round(f·n) are val. */
export function randomSplit(tiles: readonly SplitTile[], { valFraction, seed = 0 }: SplitOptions): SplitResult {
  const sorted = byId(tiles);
  const k = valCount(sorted.length, valFraction);
  const order = shuffle(sorted.map((t) => t.id), mulberry32(checkSeed(seed)));
  return result(tiles, order.slice(0, k));
}

/**
 * scene: shuffle the scene indices (ascending first) with mulberry32(seed) and move whole scenes
 * to val, in that order, while val holds fewer than round(f·n) tiles (the last scene may
 * overshoot). Needs at least two scenes, and fails if the scenes taken leave no training tile.
 */
export function sceneSplit(tiles: readonly SplitTile[], { valFraction, seed = 0 }: SplitOptions): SplitResult {
  const sorted = byId(tiles);
  const k = valCount(sorted.length, valFraction);
  const byScene = new Map<number, number[]>();
  for (const t of sorted) {
    const list = byScene.get(t.scene);
    if (list) list.push(t.id);
    else byScene.set(t.scene, [t.id]);
  }
  if (byScene.size < 2) throw new GeosegError(`a scene split needs tiles from at least 2 scenes (all ${sorted.length} tiles are from one scene); use --strategy random or max-entropy`);
  const order = shuffle([...byScene.keys()].sort((a, b) => a - b), mulberry32(checkSeed(seed)));
  const val: number[] = [];
  for (const s of order) {
    if (val.length >= k) break;
    val.push(...byScene.get(s)!);
  }
  if (val.length >= sorted.length) {
    throw new GeosegError(`a scene split with validation fraction ${valFraction} and seed ${seed} puts every tile in validation (the scenes are too unequal); try a smaller fraction or another seed`);
  }
  return result(tiles, val);
}

/**
 * max-entropy (the seeds' greedy method): start from an empty val set and, round(f·n) times, add
 * the tile t maximizing H(val counts + histogram_t); ties (within 1e-12) go to the lowest id.
 * Deterministic without a seed. O(round(f·n) · n · classes).
 */
export function maxEntropySplit(tiles: readonly SplitTile[], { valFraction }: SplitOptions): SplitResult {
  const sorted = byId(tiles);
  const k = valCount(sorted.length, valFraction);
  const C = sorted.reduce((m, t) => Math.max(m, t.histogram.length), 0);
  const counts = new Array<number>(C).fill(0);
  const taken = new Uint8Array(sorted.length);
  const trial = new Array<number>(C);
  const val: number[] = [];
  for (let step = 0; step < k; step++) {
    let best = -1;
    let bestH = -Infinity;
    for (let i = 0; i < sorted.length; i++) {
      if (taken[i]) continue;
      const h = sorted[i].histogram;
      for (let c = 0; c < C; c++) trial[c] = counts[c] + (h[c] ?? 0);
      const H = entropy(trial);
      if (H > bestH + 1e-12) {
        best = i;
        bestH = H;
      }
    }
    taken[best] = 1;
    val.push(sorted[best].id);
    const h = sorted[best].histogram;
    for (let c = 0; c < C; c++) counts[c] += h[c] ?? 0;
  }
  return result(tiles, val);
}

/**
 * Pairs (val tile, train tile) of the same scene whose windows share pixels: windows are
 * tileSize × tileSize squares at (x, y), overlapping when |Δx| < tileSize and |Δy| < tileSize.
 * Without a tile size every same-scene pair counts (a conservative bound).
 */
export function leakPairs(tiles: readonly SplitTile[], val: readonly number[], tileSize?: number): number {
  const inVal = new Set(val);
  const byScene = new Map<number, SplitTile[]>();
  for (const t of tiles) {
    const list = byScene.get(t.scene);
    if (list) list.push(t);
    else byScene.set(t.scene, [t]);
  }
  let pairs = 0;
  for (const list of byScene.values()) {
    const v = list.filter((t) => inVal.has(t.id));
    const tr = list.filter((t) => !inVal.has(t.id));
    for (const a of v) {
      for (const b of tr) {
        if (!(tileSize && tileSize > 0) || (Math.abs(a.x - b.x) < tileSize && Math.abs(a.y - b.y) < tileSize)) pairs++;
      }
    }
  }
  return pairs;
}

/** Runs one strategy and returns the record dataset.json stores (plus leak information). */
export function splitTiles(
  tiles: readonly SplitTile[],
  opts: SplitOptions & { strategy: SplitStrategy; tileSize?: number },
): SplitRecord {
  const seed = checkSeed(opts.seed ?? 0);
  const fn = ({ random: randomSplit, scene: sceneSplit, 'max-entropy': maxEntropySplit } as Record<string, typeof randomSplit>)[opts.strategy];
  if (!fn) throw new GeosegError(`unknown split strategy '${opts.strategy}' (strategies: ${SPLIT_STRATEGIES.join(', ')})`);
  const r = fn(tiles, { valFraction: opts.valFraction, seed });
  const leaks = leakPairs(tiles, r.val, opts.tileSize);
  return { strategy: opts.strategy, seed, valFraction: opts.valFraction, ...r, leakRisk: leaks > 0, leakPairs: leaks };
}

/** Validation = every tile of the scenes whose id matches `pattern` (a glob: 'tile_8/*'). */
export function scenesSplit(tiles: readonly SplitTile[], sceneIds: readonly string[], pattern: string): SplitRecord {
  const re = globRegex(pattern);
  const valScenes = new Set(sceneIds.flatMap((id, i) => (re.test(id) ? [i] : [])));
  if (valScenes.size === 0) throw new GeosegError(`--val-scenes '${pattern}' matches no scene (scene ids look like '${sceneIds[0]}')`);
  if (valScenes.size === sceneIds.length) throw new GeosegError(`--val-scenes '${pattern}' matches every scene; nothing is left to train on`);
  const val = tiles.filter((t) => valScenes.has(t.scene)).map((t) => t.id);
  return { strategy: 'scenes', valScenes: pattern, seed: 0, valFraction: val.length / tiles.length, val, ...splitEntropies(tiles, val), leakRisk: false, leakPairs: 0 };
}
