// Offline class-balanced augmentation: the greedy plan against hand-worked sequences, and
// `geoseg augment` on a hand-built prepared dataset (copies are exact dihedral transforms of their
// sources under a geometric-only config; split kept; sampling weights follow; refusals; --remove).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { balanceTiles } from '../src/data/balance-plan.js';
import { evalUnits } from '../src/evaluation/evaluate.js';
import type { DatasetJson } from '../src/data/dataset.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const geoseg = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'packages', 'geoseg', 'src', 'cli', 'main.ts'), ...args], { cwd: repo, encoding: 'utf8' });

const identity = (hist: number[][]) => (from: number) => hist[from];
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} != ${b}`);

test('balance plan: hand-worked sequences (stuck at maxCopies, reached, budget, no pixels)', () => {
  // T0 [90, 10], T1 [100, 0]: share of class 1 after k copies of T0 is (10 + 10k) / (200 + 100k),
  // which tends to T0's own 0.1 and never reaches it: 8 copies (maxCopies), then stuck.
  const hist = [[90, 10], [100, 0]];
  const tiles = hist.map((histogram, id) => ({ id, histogram }));
  const opts = { target: 0.1, classes: [0, 1], maxTiles: 100, maxCopies: 8, seed: 0 };
  const a = balanceTiles(tiles, 2, opts, identity(hist));
  assert.deepEqual(a.copies.map((c) => [c.from, c.forClass]), Array(8).fill([0, 1]));
  assert.equal(a.stopped, 'stuck');
  assert.deepEqual(a.stuck, [1]);
  close(a.before[1], 0.05, 'before');
  close(a.after[1], 90 / 1000, 'after');
  // The budget stops it first: 3 copies, share 40 / 500.
  const b = balanceTiles(tiles, 2, { ...opts, maxTiles: 3 }, identity(hist));
  assert.equal(b.copies.length, 3);
  assert.equal(b.stopped, 'max-tiles');
  close(b.after[1], 0.08, 'after budget');
  // T0 [50, 50], T1 [100, 0]: share 0.25 → one copy of T0 gives 100 / 300 ≥ 0.3.
  const h2 = [[50, 50], [100, 0]];
  const c = balanceTiles(h2.map((histogram, id) => ({ id, histogram })), 2, { ...opts, target: 0.3 }, identity(h2));
  assert.deepEqual(c.copies.map((x) => x.from), [0]);
  assert.equal(c.stopped, 'reached');
  close(c.after[1], 1 / 3, 'reached');
  // A class without pixels cannot be raised: nothing copied.
  const d = balanceTiles([{ id: 0, histogram: [100, 0] }], 2, opts, identity([[100, 0]]));
  assert.deepEqual([d.copies.length, d.stuck, d.stopped], [0, [1], 'stuck']);
  // Only classes asked for are raised.
  const e = balanceTiles(tiles, 2, { ...opts, classes: [0] }, identity(hist));
  assert.deepEqual([e.copies.length, e.stopped], [0, 'reached']);
});

test('balance plan: the worst class first, sources drawn in proportion to its pixels, seeded', () => {
  // Three classes; class 2 (share 30/600 = 0.05) is further below 0.25 than class 1 (90/600).
  const hist = [[180, 0, 20], [160, 30, 10], [140, 60, 0]];
  const tiles = hist.map((histogram, id) => ({ id, histogram }));
  const opts = { target: 0.25, classes: [0, 1, 2], maxTiles: 400, maxCopies: 400, seed: 7 };
  const p = balanceTiles(tiles, 3, { ...opts, maxTiles: 1 }, identity(hist));
  assert.equal(p.copies[0].forClass, 2);
  // Sources in proportion to their pixels of the class: tiles 0 and 1 have the same share of class 2
  // (0.1) but 10 and 20 of its pixels; 300 copies (the budget) come about 1:2 from them, none from
  // tile 2 (no class 2), and the share creeps towards 0.1 without reaching 0.0999.
  const h2 = [[90, 0, 10], [180, 0, 20], [300, 0, 0]];
  const t2 = h2.map((histogram, id) => ({ id, histogram }));
  const o2 = { ...opts, classes: [2], maxTiles: 300, target: 0.0999 };
  const q = balanceTiles(t2, 3, o2, identity(h2));
  assert.equal(q.stopped, 'max-tiles');
  assert.ok(q.copies.every((c) => c.from !== 2 && c.forClass === 2));
  const n1 = q.copies.filter((c) => c.from === 1).length;
  assert.ok(n1 / 300 > 0.58 && n1 / 300 < 0.75, `tile 1 drawn ${n1} of 300`);
  assert.deepEqual(balanceTiles(t2, 3, o2, identity(h2)).copies, q.copies, 'same seed, same copies');
  assert.notDeepEqual(balanceTiles(t2, 3, { ...o2, seed: 8 }, identity(h2)).copies.map((c) => c.from), q.copies.map((c) => c.from));
});

// ---- A hand-built prepared dataset: one 32×32 scene of 4 tiles of 16 px, 3 classes; tile 3 is
// validation. Masks are asymmetric so a copy's transform can be identified from its mask.
const T = 16;
function handDataset(dir: string): string {
  const out = join(dir, 'ds');
  mkdirSync(join(out, 'tiles'), { recursive: true });
  const masks = [0, 1, 2, 3].map((t) => torch.tidy(() => {
    const yy = torch.arange(0, T).unsqueeze(1).expand([T, T]);
    const xx = torch.arange(0, T).unsqueeze(0).expand([T, T]);
    let m = torch.zeros([T, T], { dtype: 'int64' });
    if (t === 1) m = xx.lt(8).to('int64'); // class 1 left half
    if (t === 2) m = xx.lt(4).logicalAnd(yy.lt(3)).to('int64').mul(2).add(xx.eq(15).logicalAnd(yy.lt(4)).to('int64')); // an L of rare class 2 + class 1 column stub
    if (t === 2) m = m.add(yy.eq(0).logicalAnd(xx.ge(4)).logicalAnd(xx.lt(6)).to('int64').mul(2)); // the L's foot (asymmetric)
    if (t === 3) m = yy.lt(8).to('int64').mul(2);
    return m.to('uint8').keep();
  }));
  const tiles = masks.map((mask, id) => {
    const file = `tiles/00000_${(id % 2) * T}_${Math.floor(id / 2) * T}.safetensors`;
    torch.tidy(() => {
      // pixel values encode position and band, so a transform of the image is identifiable too
      const image = torch.arange(0, 3 * T * T).reshape([3, T, T]).remainder(251).add(id).to('uint8');
      torch.saveSafetensors(join(out, file), { image, mask });
    });
    const histogram = Array.from(torch.tidy(() => torch.bincount(mask.to('int64').flatten(), null, 3).toArray() as number[]));
    return { id, scene: 0, x: (id % 2) * T, y: Math.floor(id / 2) * T, file, histogram, ignored: 0 };
  });
  masks.forEach((m) => m.dispose());
  const ds = {
    version: 1, createdAt: '2026-12-03T00:00:00Z',
    classes: [{ id: 0, name: 'background', color: [0, 0, 0] }, { id: 1, name: 'road', color: [128, 128, 128] }, { id: 2, name: 'car', color: [255, 0, 0] }],
    ignoreIndex: 255, bands: 3, dtype: 'uint8', tileSize: T, overlap: 0,
    normalization: { mean: [100, 100, 100], std: [50, 50, 50] },
    scenes: [{ id: 'only', image: 'x.tif', label: 'y.tif', width: 2 * T, height: 2 * T, bands: 3, crs: null, epsg: null, geoTransform: null, encoding: 'index', pixels: [0, 0, 0], ignored: 0, unknown: {} }],
    tiles,
    split: { strategy: 'random', val: [3], trainEntropy: 0, valEntropy: 0, seed: 0, valFraction: 0.25, leakRisk: false, leakPairs: 0 },
    sampling: null as unknown,
  };
  writeFileSync(join(out, 'dataset.json'), JSON.stringify(ds, null, 1) + '\n');
  return out;
}

/** The index k (0-7) of the dihedral transform taking `a` [.., H, W] to `b`, or -1. */
function dihedral(a: Tensor, b: Tensor): number {
  return torch.tidy(() => {
    const d = a.ndim;
    const candidates = [0, 1, 2, 3].flatMap((k) => [torch.rot90(a, k, [d - 2, d - 1]), torch.rot90(a.flip([d - 1]), k, [d - 2, d - 1])]);
    return candidates.findIndex((c) => c.equal(b));
  });
}

test('geoseg augment: copies of rare-class training tiles, recorded; split, sampling, eval units; refusals; --remove', () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-augment-'));
  try {
    const ds = handDataset(dir);
    const original = JSON.parse(readFileSync(join(ds, 'dataset.json'), 'utf8')) as DatasetJson;
    // Class-balanced sampling weights before augmenting: the copies must get weights too.
    original.sampling = { strategy: 'class-balanced', power: 1, weights: [1, 1, 1, 0] };
    writeFileSync(join(ds, 'dataset.json'), JSON.stringify(original, null, 1) + '\n');
    writeFileSync(join(dir, 'geo.yaml'), 'hflip: { p: 0.5 }\nvflip: { p: 0.5 }\nrot90: { p: 0.75 }\n');

    const r = geoseg('augment', ds, '--augmentation', join(dir, 'geo.yaml'), '--target', '0.2', '--json');
    assert.equal(r.status, 0, r.stderr);
    const rec = JSON.parse(r.stdout);
    const after = JSON.parse(readFileSync(join(ds, 'dataset.json'), 'utf8')) as DatasetJson & { augmentation: typeof rec };
    const copies = after.tiles.slice(4) as (DatasetJson['tiles'][number] & { augmented: { from: number; forClass: number } })[];
    assert.equal(rec.added, copies.length);
    assert.ok(copies.length > 0 && copies.length <= 3 /* max-tiles default: the 3 training tiles */);
    assert.deepEqual(after.tiles.slice(0, 4), original.tiles, 'original tiles untouched');
    assert.deepEqual(after.split, original.split, 'split kept');
    assert.equal(after.augmentation.added, copies.length);
    let geometric = 0;
    for (const c of copies) {
      assert.equal(c.scene, -1);
      assert.notEqual(c.augmented.from, 3, 'a validation tile was copied');
      assert.ok(after.augmentation.before[c.augmented.forClass] < 0.2);
      const src = torch.loadSafetensors(join(ds, original.tiles[c.augmented.from].file));
      const cp = torch.loadSafetensors(join(ds, c.file));
      const k = dihedral(src.mask, cp.mask);
      assert.ok(k >= 0, `${c.file}: mask is not a flip/rotation of tile ${c.augmented.from}'s`);
      assert.equal(dihedral(src.image, cp.image), k, `${c.file}: image moved differently from its mask`);
      assert.equal(cp.image.dtype, 'uint8');
      assert.deepEqual(c.histogram, original.tiles[c.augmented.from].histogram);
      if (k > 0) geometric++;
    }
    assert.ok(geometric > 0, 'no copy was transformed');
    // The rare class is raised: every copy here comes from the tile holding cars (tile 2; tile 1 has none).
    assert.ok(copies.every((c) => c.augmented.from === 2));
    const share = (tiles: DatasetJson['tiles']) => {
      const tot = [0, 0, 0];
      tiles.filter((t) => t.id !== 3).forEach((t) => t.histogram.forEach((n, i) => { tot[i] += n; }));
      return tot[2] / tot.reduce((a, b) => a + b, 0);
    };
    assert.ok(Math.abs(rec.after[2] - share(after.tiles)) < 1e-12 && rec.after[2] > share(original.tiles));
    // Sampling weights recomputed with the same strategy over the enlarged training set: a copy
    // weighs what its source weighs, validation stays 0, training weights have mean 1.
    const w = (after.sampling as { weights: number[] }).weights;
    for (const c of copies) assert.ok(Math.abs(w[c.id] - w[c.augmented.from]) < 1e-12);
    assert.equal(w[3], 0);
    const trainW = after.tiles.filter((t) => t.id !== 3).map((t) => w[t.id]);
    assert.ok(Math.abs(trainW.reduce((a, b) => a + b, 0) / trainW.length - 1) < 1e-12);
    // Evaluation never sees copies: the scene is one unit either way.
    assert.deepEqual(evalUnits(after, after.tiles.map((t) => t.id)), evalUnits(original, original.tiles.map((t) => t.id)));
    assert.ok(!existsSync(join(ds, '.augment-partial')));

    // Refusals: again without --overwrite; a re-split; --remove with other options.
    const again = geoseg('augment', ds);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^geoseg: .*dataset\.json: already augmented \(\d+ copies\); give --overwrite/);
    const split = geoseg('split', ds);
    assert.equal(split.status, 1);
    assert.match(split.stderr, /holds \d+ tiles added by geoseg augment.*--remove/);
    assert.equal(geoseg('augment', ds, '--remove', '--target', '0.1').status, 2);
    assert.equal(geoseg('augment', ds, '--target', '0.9', '--overwrite').status, 1, 'a target above 1/3 is impossible');

    // --overwrite with the same options gives the same copies (deterministic in the seed), under
    // names of a new generation; the earlier files are gone. The transforms may also come as the
    // augmentation: block of a run config.
    const bytes = copies.map((c) => readFileSync(join(ds, c.file)));
    writeFileSync(join(dir, 'run.yaml'), 'out: x\naugmentation:\n  hflip: { p: 0.5 }\n  vflip: { p: 0.5 }\n  rot90: { p: 0.75 }\n');
    const re = geoseg('augment', ds, '--augmentation', join(dir, 'run.yaml'), '--target', '0.2', '--overwrite', '--json');
    assert.equal(re.status, 0, re.stderr);
    const after2 = JSON.parse(readFileSync(join(ds, 'dataset.json'), 'utf8')) as DatasetJson;
    const withoutFile = (ts: DatasetJson['tiles']) => ts.map(({ file: _f, ...t }) => t);
    assert.deepEqual(withoutFile(after2.tiles), withoutFile(after.tiles));
    after2.tiles.slice(4).forEach((c, i) => {
      assert.match(c.file, /^tiles\/aug_g2_\d{6}\.safetensors$/);
      assert.ok(readFileSync(join(ds, c.file)).equals(bytes[i]));
      assert.ok(!existsSync(join(ds, copies[i].file)), 'the earlier generation\'s file is removed');
    });

    // --remove: records and files gone, the dataset as before.
    const rm = geoseg('augment', ds, '--remove');
    assert.equal(rm.status, 0, rm.stderr);
    const back = JSON.parse(readFileSync(join(ds, 'dataset.json'), 'utf8'));
    assert.deepEqual(back.tiles, original.tiles);
    assert.equal(back.augmentation, undefined);
    assert.equal(back.sampling.weights.length, 4, 'weights recomputed for the original tiles only');
    assert.deepEqual(readdirSync(join(ds, 'tiles')).filter((f) => f.startsWith('aug_')), []);

    // A failure part-way (a source tile missing) leaves the dataset as it was.
    const before = readFileSync(join(ds, 'dataset.json'), 'utf8');
    rmSync(join(ds, original.tiles[2].file));
    const broken = geoseg('augment', ds, '--target', '0.2');
    assert.equal(broken.status, 1);
    assert.equal(readFileSync(join(ds, 'dataset.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(join(ds, 'tiles')).filter((f) => f.startsWith('aug_')), []);
    assert.ok(!existsSync(join(ds, '.augment-partial')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
