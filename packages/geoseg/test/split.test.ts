import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { spawnAll } from './helpers/spawn-all.js';
import {
  randomSplit, sceneSplit, maxEntropySplit, splitTiles, splitEntropies, leakPairs, entropy, mulberry32,
  classBalanced, rareThreshold, trainFrequencies, type SplitTile,
} from '../src/data/index.js';
import { GeosegError } from '../src/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const pkg = join(repo, 'packages', 'geoseg');

// The CLI under test: the built binary when dist is newer than the sources of this command,
// otherwise the TypeScript sources through tsx (dist may be stale during development).
const sources = ['src/cli/split.ts', 'src/data/split.ts', 'src/data/sampling.ts', 'src/cli/main.ts'].map((f) => statSync(join(pkg, f)).mtimeMs);
const built = join(pkg, 'dist', 'cli', 'split.js');
const useDist = existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources);
const geoseg = (...args: string[]) => useDist
  ? spawnSync(join(repo, 'node_modules', '.bin', 'geoseg'), args, { cwd: repo, encoding: 'utf8' })
  : spawnSync(process.execPath, ['--import', 'tsx', join(pkg, 'src', 'cli', 'main.ts'), ...args], { cwd: repo, encoding: 'utf8' });

const close = (a: number, b: number, what = '', eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} != ${b}`);
const xlogx = (p: number) => (p > 0 ? p * Math.log(p) : 0);
const H = (...p: number[]) => -p.reduce((s, x) => s + xlogx(x), 0);

// ---- A hand-built prepared dataset: 4 scenes, 20 tiles of 256 px with 0.25 overlap (stride 192),
// 3 classes (water rare). Scene 0 and 3: 448×448 → 2×2 tiles; scene 1: 640×448 → 3×2; scene 2:
// 448×640 → 2×3. Histograms are hand-chosen (labelled pixels per class; the rest ignored).
const SCENES: [number, number][] = [[448, 448], [640, 448], [448, 640], [448, 448]];
const HIST: number[][] = [
  // scene 0 (tiles 0-3)
  [90, 10, 0], [80, 20, 0], [70, 25, 5], [60, 40, 0],
  // scene 1 (tiles 4-9)
  [100, 0, 0], [50, 50, 0], [40, 40, 20], [90, 10, 0], [85, 15, 0], [30, 60, 10],
  // scene 2 (tiles 10-15)
  [95, 5, 0], [70, 30, 0], [65, 30, 5], [20, 80, 0], [50, 50, 0], [75, 25, 0],
  // scene 3 (tiles 16-19)
  [100, 0, 0], [60, 35, 5], [45, 45, 10], [88, 12, 0],
];

function makeTiles(): (SplitTile & { file: string; ignored: number })[] {
  // Tile starts along an axis of 448 px: 0, 192 (snapped to 448 − 256); of 640 px: 0, 192, 384.
  const starts = (n: number) => (n === 448 ? [0, 192] : [0, 192, 384]);
  const tiles: (SplitTile & { file: string; ignored: number })[] = [];
  SCENES.forEach(([w, h], s) => {
    for (const y of starts(h)) for (const x of starts(w)) {
      const id = tiles.length;
      tiles.push({ id, scene: s, x, y, file: `tiles/${String(s).padStart(5, '0')}_${x}_${y}.safetensors`, histogram: HIST[id], ignored: 100 - HIST[id].reduce((a, b) => a + b, 0) });
    }
  });
  return tiles;
}
const TILES = makeTiles();

function datasetJson() {
  return {
    version: 1,
    createdAt: '2026-11-23T10:00:00.000Z',
    classes: [{ id: 0, name: 'Ground', color: [10, 20, 30] }, { id: 1, name: 'Building', color: [200, 0, 0] }, { id: 2, name: 'Water', color: [0, 0, 255] }],
    ignoreIndex: 255,
    bands: 3,
    dtype: 'uint8',
    tileSize: 256,
    overlap: 0.25,
    normalization: { mean: [101.5, 99.25, 87.125], std: [12.5, 13.75, 20.0625] },
    scenes: SCENES.map(([width, height], s) => ({ id: `scene_${s}`, image: `/data/images/scene_${s}.jpg`, label: `/data/masks/scene_${s}.png`, width, height, bands: 3,
      crs: null, epsg: null, geoTransform: null, encoding: 'rgb', pixels: [1, 2, 3], ignored: 0, unknown: { '#FF0000': 4 } })),
    tiles: TILES,
    split: null,
    sampling: null,
    futureField: { nested: [1, 'two', null, { three: 3.5 }] },
  };
}

function datasetDir(content: string | object = datasetJson()): string {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-split-'));
  writeFileSync(join(dir, 'dataset.json'), typeof content === 'string' ? content : JSON.stringify(content, null, 1));
  return dir;
}

test('the hand-built dataset has the intended layout', () => {
  assert.equal(TILES.length, 20);
  assert.deepEqual(SCENES.map((_, s) => TILES.filter((t) => t.scene === s).length), [4, 6, 6, 4]);
  assert.deepEqual(TILES.filter((t) => t.scene === 1).map((t) => [t.x, t.y]), [[0, 0], [192, 0], [384, 0], [0, 192], [192, 192], [384, 192]]);
});

test('entropy: natural-log Shannon entropy of normalized counts', () => {
  close(entropy([1, 1]), Math.log(2), 'two equal');
  close(entropy([3, 3, 3, 3]), Math.log(4), 'four equal');
  close(entropy([30, 10]), -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), '3:1');
  assert.equal(entropy([5, 0, 0]), 0);
  assert.equal(entropy([0, 0]), 0);
});

test('mulberry32 is a deterministic PRNG in [0, 1)', () => {
  const a = mulberry32(42), b = mulberry32(42), c = mulberry32(43);
  const xs = Array.from({ length: 1000 }, a);
  assert.deepEqual(xs, Array.from({ length: 1000 }, b));
  assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, c));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('random split: deterministic for a seed, different for another, independent of input order, round(f·n) tiles', () => {
  const a = randomSplit(TILES, { valFraction: 0.15, seed: 7 });
  assert.deepEqual(randomSplit(TILES, { valFraction: 0.15, seed: 7 }), a);
  assert.deepEqual(randomSplit([...TILES].reverse(), { valFraction: 0.15, seed: 7 }), a);
  assert.notDeepEqual(randomSplit(TILES, { valFraction: 0.15, seed: 8 }).val, a.val);
  assert.equal(a.val.length, 3); // round(0.15 · 20)
  assert.deepEqual(a.val, [...a.val].sort((x, y) => x - y));
  assert.equal(randomSplit(TILES, { valFraction: 0.5, seed: 0 }).val.length, 10);
  assert.equal(randomSplit(TILES, { valFraction: 0.33, seed: 0 }).val.length, 7); // round(6.6)
  // Seeds spread: over 50 seeds every tile lands in val at least once.
  const seen = new Set<number>();
  for (let s = 0; s < 50; s++) randomSplit(TILES, { valFraction: 0.15, seed: s }).val.forEach((id) => seen.add(id));
  assert.equal(seen.size, 20);
  // Entropies are those of the two sides' summed histograms.
  const e = splitEntropies(TILES, a.val);
  assert.equal(a.trainEntropy, e.trainEntropy);
  assert.equal(a.valEntropy, e.valEntropy);
});

test('scene split: whole scenes only, never splits a scene, reaches the fraction, deterministic', () => {
  const sizes = [4, 6, 6, 4];
  for (let seed = 0; seed < 40; seed++) {
    for (const f of [0.1, 0.15, 0.3, 0.5]) {
      const r = sceneSplit(TILES, { valFraction: f, seed });
      const val = new Set(r.val);
      const valScenes = new Set(TILES.filter((t) => val.has(t.id)).map((t) => t.scene));
      for (const t of TILES) assert.equal(val.has(t.id), valScenes.has(t.scene), `seed ${seed}: scene ${t.scene} split`);
      const target = Math.round(f * 20);
      assert.ok(r.val.length >= target, `seed ${seed} f ${f}: ${r.val.length} < ${target}`);
      // scenes are added only while val is short of the target: dropping the last one falls short
      assert.ok([...valScenes].some((s) => r.val.length - sizes[s] < target));
      assert.ok(r.val.length < 20);
      assert.equal(leakPairs(TILES, r.val, 256), 0);
    }
  }
  assert.deepEqual(sceneSplit(TILES, { valFraction: 0.15, seed: 3 }), sceneSplit(TILES, { valFraction: 0.15, seed: 3 }));
  const picks = new Set(Array.from({ length: 20 }, (_, seed) => sceneSplit(TILES, { valFraction: 0.15, seed }).val.join(',')));
  assert.ok(picks.size > 1, 'different seeds choose different scenes');
  assert.throws(() => sceneSplit(TILES.filter((t) => t.scene === 1), { valFraction: 0.3 }), /at least 2 scenes/);
});

test('max-entropy split picks the tiles a hand computation says', () => {
  // 3 classes; the tiles' own entropies: t0, t1, t4 pure (0); t2 [5,5,0] ln 2 = 0.693;
  // t3 [4,3,3] H(.4,.3,.3) = 1.0889; t5 [2,2,6] H(.2,.2,.6) = 0.9503.
  const tiles: SplitTile[] = [[10, 0, 0], [0, 10, 0], [5, 5, 0], [4, 3, 3], [0, 0, 10], [2, 2, 6]]
    .map((histogram, id) => ({ id, scene: 0, x: id * 256, y: 0, histogram }));
  // k = round(0.34 · 6) = 2.
  // Step 1: val empty, pick the largest own entropy: t3 (1.0889). Val counts [4,3,3].
  // Step 2: t0 → [14,3,3] H(.7,.15,.15) = 0.8188; t1 → [4,13,3] H(.2,.65,.15) = 0.8865;
  //         t2 → [9,8,3] H(.45,.4,.15) = 1.0104; t4 → [4,3,13] 0.8865; t5 → [6,5,9] H(.3,.25,.45) = 1.0671.
  //         Pick t5. Val = {3, 5}, counts [6,5,9]; train t0+t1+t2+t4 = [15,15,10], H(.375,.375,.25) = 1.0822.
  const r = maxEntropySplit(tiles, { valFraction: 0.34 });
  assert.deepEqual(r.val, [3, 5]);
  close(r.valEntropy, H(0.3, 0.25, 0.45), 'val entropy');
  close(r.trainEntropy, H(0.375, 0.375, 0.25), 'train entropy');
  close(r.valEntropy, 1.0671, 'val entropy (4 digits)', 1e-4);
  close(r.trainEntropy, 1.0822, 'train entropy (4 digits)', 1e-4);
  // k = round(0.5 · 6) = 3. Step 3 from [6,5,9]: t0 → [16,5,9] H = 0.9951; t1 → [6,15,9] H = 1.0297;
  // t2 → [11,10,9] H = 1.0953 (most even); t4 → [6,5,19] H = 0.9098. Pick t2.
  assert.deepEqual(maxEntropySplit(tiles, { valFraction: 0.5 }).val, [2, 3, 5]);
  // The seed plays no part.
  assert.deepEqual(maxEntropySplit(tiles, { valFraction: 0.5, seed: 99 }), maxEntropySplit(tiles, { valFraction: 0.5 }));
  // Ties go to the lowest tile id, whatever the input order: ids 7 and 2 both give ln 2.
  const tie: SplitTile[] = [{ id: 7, scene: 0, x: 0, y: 0, histogram: [1, 1] }, { id: 2, scene: 0, x: 0, y: 0, histogram: [1, 1] }, { id: 5, scene: 0, x: 0, y: 0, histogram: [3, 0] }];
  assert.deepEqual(maxEntropySplit(tie, { valFraction: 0.34 }).val, [2]);
  // On the 20-tile dataset: round(0.15 · 20) = 3 tiles, and val is at least as diverse as train.
  const big = maxEntropySplit(TILES, { valFraction: 0.15 });
  assert.equal(big.val.length, 3);
  assert.ok(big.valEntropy >= big.trainEntropy);
  assert.ok(big.val.includes(6), 'tile 6 [40,40,20] has the largest own entropy (1.0549), so it is picked first');
});

test('leak pairs: val/train tiles of one scene whose windows overlap', () => {
  // Scene 0: tiles at (0,0) (192,0) (0,192) (192,192); with 256-px tiles every pair overlaps (|Δ| = 192 < 256).
  assert.equal(leakPairs(TILES, [0], 256), 3);
  assert.equal(leakPairs(TILES, [0, 3], 256), 4); // 0-1, 0-2, 3-1, 3-2
  assert.equal(leakPairs(TILES, [0], 192), 0); // |Δ| = 192 is not < 192: edge-adjacent, no shared pixel
  assert.equal(leakPairs(TILES, [0, 1, 2, 3], 256), 0); // whole scene
  // Scene 1 row 0: (0,0) and (384,0) do not overlap (|Δx| = 384); (0,0)'s neighbours are (192,0), (0,192), (192,192).
  assert.equal(leakPairs(TILES, [4], 256), 3);
  assert.equal(leakPairs(TILES, [4]), 5, 'without a tile size every same-scene pair counts');
  const r = splitTiles(TILES, { strategy: 'max-entropy', valFraction: 0.15, tileSize: 256 });
  assert.equal(r.leakRisk, r.leakPairs > 0);
  assert.equal(splitTiles(TILES, { strategy: 'scene', valFraction: 0.15, seed: 1, tileSize: 256 }).leakRisk, false);
});

test('bad fractions and seeds are GeosegErrors with a clear message', () => {
  for (const f of [0, 1, -0.2, 1.5, NaN]) {
    assert.throws(() => randomSplit(TILES, { valFraction: f }), (e: Error) => e instanceof GeosegError && /must be in \(0, 1\)/.test(e.message), String(f));
  }
  // round(0.01 · 20) = 0 val tiles; round(0.99 · 20) = 20 → no train tile.
  for (const fn of [randomSplit, sceneSplit, maxEntropySplit]) {
    assert.throws(() => fn(TILES, { valFraction: 0.01 }), /gives 0 validation and 20 training tiles; each side needs at least 1/);
    assert.throws(() => fn(TILES, { valFraction: 0.99 }), /gives 20 validation and 0 training tiles/);
  }
  assert.throws(() => randomSplit(TILES, { valFraction: 0.2, seed: -1 }), /seed -1 must be an integer/);
  assert.throws(() => randomSplit(TILES, { valFraction: 0.2, seed: 1.5 }), /seed 1.5/);
  assert.throws(() => randomSplit([TILES[0], TILES[0]], { valFraction: 0.5 }), /tile id 0 appears twice/);
});

test('class-balanced weights equal a hand computation', () => {
  // Train t0 [80,20,0], t1 [50,50,0], t2 [60,30,10]; t3 [100,0,0] is val.
  // Train totals [190,100,10] / 300 → f = [19/30, 1/3, 1/30].
  const tiles = [[80, 20, 0], [50, 50, 0], [60, 30, 10], [100, 0, 0]].map((histogram, id) => ({ id, histogram }));
  close(trainFrequencies(tiles, [3])[2], 1 / 30, 'f water');
  // power 1: raw t0 = .8·30/19 + .2·3 = 177/95; t1 = .5·30/19 + .5·3 = 87/38; t2 = .6·30/19 + .3·3 + .1·30 = 921/190.
  // Sum 9, three train tiles → scale 3/9: weights 59/95, 29/38, 307/190 (mean 1); val 0.
  const p1 = classBalanced(tiles, [3], { power: 1 });
  const want1 = [59 / 95, 29 / 38, 307 / 190, 0];
  p1.weights.forEach((w, i) => close(w, want1[i], `power 1, tile ${i}`, 1e-12));
  assert.equal(p1.strategy, 'class-balanced');
  assert.equal(p1.power, 1);
  // power 0.5 (default): raw t = Σ s·sqrt(1/f); normalized to mean 1.
  const r = Math.sqrt;
  const raw = [0.8 * r(30 / 19) + 0.2 * r(3), 0.5 * r(30 / 19) + 0.5 * r(3), 0.6 * r(30 / 19) + 0.3 * r(3) + 0.1 * r(30)];
  const scale = 3 / (raw[0] + raw[1] + raw[2]);
  const half = classBalanced(tiles, [3]);
  assert.equal(half.power, 0.5);
  raw.forEach((w, i) => close(half.weights[i], w * scale, `power .5, tile ${i}`, 1e-12));
  assert.equal(half.weights[3], 0);
  // power 0: every labelled train tile weighs 1.
  assert.deepEqual(classBalanced(tiles, [3], { power: 0 }).weights, [1, 1, 1, 0]);
  // Weights are indexed by tile id; a tile without labelled pixels gets 0.
  const sparse = classBalanced([{ id: 4, histogram: [1, 1] }, { id: 1, histogram: [0, 0] }, { id: 2, histogram: [2, 0] }], []);
  assert.equal(sparse.weights.length, 5);
  assert.equal(sparse.weights[1], 0);
  assert.equal(sparse.weights[0], 0);
  close((sparse.weights[4] + sparse.weights[2] + sparse.weights[1]) / 3, 1, 'mean 1 over train tiles');
  assert.throws(() => classBalanced(tiles, [3], { power: -1 }), /power -1/);
  assert.throws(() => classBalanced([{ id: 0, histogram: [0, 0] }], []), /no labelled pixels/);
});

test('rare-threshold weights equal a hand computation', () => {
  // Train t0 [80,20,0], t1 [50,50,0], t2 [55,30,15], t4 [88,10,2]; t3 [100,0,0] is val.
  // Train totals [273,110,17] / 400 → f = [.6825, .275, .0425]: only class 2 is under 5%.
  // Rare shares: t0 0, t1 0, t2 .15 (> .1 → boost 4), t4 .02 → 1.
  const tiles = [[80, 20, 0], [50, 50, 0], [55, 30, 15], [100, 0, 0], [88, 10, 2]].map((histogram, id) => ({ id, histogram }));
  const r = rareThreshold(tiles, [3]);
  assert.deepEqual(r, { strategy: 'rare-threshold', rareClasses: [2], threshold: 0.1, boost: 4, boosted: 1, weights: [1, 1, 4, 0, 1] });
  // The share must exceed the threshold: t2's share is exactly .15.
  assert.deepEqual(rareThreshold(tiles, [3], { threshold: 0.15 }).weights, [1, 1, 1, 0, 1]);
  // Given rare classes: {1}: shares t0 .2, t1 .5, t2 .3, t4 .1 → t0, t1, t2 boosted (t4 not: .1 is not > .1).
  assert.deepEqual(rareThreshold(tiles, [3], { rareClasses: [1], boost: 2.5 }).weights, [2.5, 2.5, 2.5, 0, 1]);
  // A 30% frequency cut makes classes 1 (.275) and 2 (.0425) rare.
  assert.deepEqual(rareThreshold(tiles, [3], { rareFrequency: 0.3 }).rareClasses, [1, 2]);
  assert.throws(() => rareThreshold(tiles, [3], { rareClasses: [3] }), /rare class 3 is not a class id \(0\.\.2\)/);
  assert.throws(() => rareThreshold(tiles, [3], { boost: 0 }), /boost 0/);
});

// ---- CLI

/** The command line of `geoseg(...args)`, for spawnAll. */
const geosegCommand = (args: string[]) => (useDist ? [join(repo, 'node_modules', '.bin', 'geoseg'), ...args] : [process.execPath, '--import', 'tsx', join(pkg, 'src', 'cli', 'main.ts'), ...args]);

function checkOneLineError(r: { status: number | null; stdout: string; stderr: string }, args: string[], pattern: RegExp) {
  assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
  assert.equal(r.stdout, '', args.join(' '));
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^geoseg: /);
  assert.match(lines[0], pattern);
  return r;
}

test('geoseg split --json rewrites split and sampling atomically and keeps every other field', () => {
  const dir = datasetDir();
  try {
    const file = join(dir, 'dataset.json');
    const before = JSON.parse(readFileSync(file, 'utf8'));
    chmodSync(file, 0o640);
    const r = geoseg('split', dir, '--strategy', 'scene', '--val', '0.25', '--seed', '3', '--sampling', 'rare-threshold', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one JSON line');
    const out = JSON.parse(r.stdout);
    const raw = readFileSync(file, 'utf8');
    assert.ok(raw.startsWith('{\n "version": 1,\n "createdAt"'), 'same indentation and key order');
    const after = JSON.parse(raw);
    const { split, sampling, ...rest } = after;
    const { split: _s, sampling: _p, ...restBefore } = before;
    assert.deepEqual(rest, restBefore);
    assert.deepEqual(Object.keys(after), Object.keys(before));
    assert.deepEqual(readdirSync(dir), ['dataset.json'], 'no temporary file left');
    assert.equal(statSync(file).mode & 0o777, 0o640, 'permissions kept');
    // The stored split is the library's.
    const want = sceneSplit(TILES, { valFraction: 0.25, seed: 3 });
    assert.deepEqual(split.val, want.val);
    assert.equal(split.strategy, 'scene');
    assert.equal(split.seed, 3);
    assert.equal(split.valFraction, 0.25);
    assert.equal(split.trainEntropy, want.trainEntropy);
    assert.equal(split.valEntropy, want.valEntropy);
    assert.equal(split.leakRisk, false);
    assert.deepEqual(sampling, rareThreshold(TILES, want.val));
    assert.equal(sampling.weights.length, 20);
    for (const id of want.val) assert.equal(sampling.weights[id], 0);
    // The JSON output summarizes the same.
    assert.deepEqual(out.split, split);
    assert.equal(out.train + out.val, 20);
    assert.equal(out.val, want.val.length);
    assert.equal(out.classes.length, 3);
    close(out.classes.reduce((s: number, c: { valShare: number }) => s + c.valShare, 0), 1, 'val shares sum to 1');

    // Re-running with --sampling none clears the weights; text output names the file.
    const t = geoseg('split', dir, '--strategy', 'max-entropy', '--sampling', 'none');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /split max-entropy: 17 train tiles .* 3 val tiles/);
    assert.match(t.stdout, /class entropy \(nats\): train \d\.\d{4}, val \d\.\d{4}/);
    assert.match(t.stdout, /Water/);
    assert.match(t.stdout, /sampling: none/);
    assert.match(t.stdout, new RegExp(`wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const again = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(again.sampling, null);
    assert.deepEqual(again.split.val, maxEntropySplit(TILES, { valFraction: 0.15 }).val);
    assert.deepEqual(again.futureField, before.futureField);
    assert.deepEqual(readdirSync(dir), ['dataset.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('geoseg split --help, and bad input exits non-zero with one line naming the file or option', async () => {
  const help = geoseg('split', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: geoseg split <dataset>/);

  const root = mkdtempSync(join(tmpdir(), 'geoseg-split-bad-'));
  try {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const broken = join(root, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'dataset.json'), '{"version": 1, "tiles": [');
    const short = join(root, 'short');
    mkdirSync(short);
    const ds = datasetJson();
    ds.tiles = ds.tiles.map((t) => (t.id === 5 ? { ...t, histogram: [1, 2] } : t));
    writeFileSync(join(short, 'dataset.json'), JSON.stringify(ds));
    const good = datasetDir();
    const goodBefore = readFileSync(join(good, 'dataset.json'), 'utf8');

    const checks: [string[], RegExp][] = [
      [['split', join(root, 'missing')], /missing: no such dataset folder/],
      [['split', empty], /empty\/dataset\.json: not found/],
      [['split', broken], /broken\/dataset\.json: not valid JSON/],
      [['split', short], /short\/dataset\.json: tiles\[5\]\.histogram must be 3 pixel counts/],
      [['split'], /give one dataset folder/],
      [['split', good, '--strategy', 'stratified'], /--strategy must be one of random, scene, max-entropy, got 'stratified'/],
      [['split', good, '--val', '1.2'], /--val must be a number in \(0, 1\), got '1.2'/],
      [['split', good, '--val', 'abc'], /--val/],
      [['split', good, '--seed=-3'], /--seed must be an integer/],
      [['split', good, '--sampling', 'focal'], /--sampling must be one of none, class-balanced, rare-threshold/],
      [['split', good, '--boost', '3'], /--boost applies to --sampling rare-threshold/],
      [['split', good, '--sampling', 'rare-threshold', '--rare', 'Lava'], /--rare: 'Lava' is not a class id or name/],
      [['split', good, '--val', '0.01'], /gives 0 validation and 20 training tiles/],
      [['split', good, '--bogus'], /bogus/],
    ];
    const results = await spawnAll(checks.map(([args]) => geosegCommand(args)), { cwd: repo });
    checks.forEach(([args, pattern], i) => checkOneLineError(results[i], args, pattern));
    assert.equal(readFileSync(join(good, 'dataset.json'), 'utf8'), goodBefore, 'a failed split leaves dataset.json as it was');
    assert.deepEqual(readdirSync(good), ['dataset.json']);
    rmSync(good, { recursive: true, force: true });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('scenesSplit: every tile of the matching scenes is val; no match or all matched is an error', async () => {
  const { scenesSplit } = await import('../src/data/split.js');
  const h = (a: number, b: number) => [a, b];
  const tiles = [
    { id: 0, scene: 0, x: 0, y: 0, histogram: h(10, 0) }, { id: 1, scene: 1, x: 0, y: 0, histogram: h(0, 10) },
    { id: 2, scene: 1, x: 256, y: 0, histogram: h(5, 5) }, { id: 3, scene: 2, x: 0, y: 0, histogram: h(10, 0) },
  ];
  const r = scenesSplit(tiles, ['tile_1/a', 'tile_8/a', 'tile_8/b'], 'tile_8/*');
  assert.deepEqual(r.val, [1, 2, 3]);
  assert.equal(r.valFraction, 0.75);
  // train = tile 0 (one class): entropy 0; val = 0+5+10 and 10+5+0 px: entropy ln 2
  assert.equal(r.trainEntropy, 0);
  assert.ok(Math.abs(r.valEntropy - Math.log(2)) < 1e-12);
  assert.throws(() => scenesSplit(tiles, ['a', 'b', 'c'], 'tile_9/*'), /matches no scene/);
  assert.throws(() => scenesSplit(tiles, ['a', 'b', 'c'], '*'), /matches every scene/);
});
