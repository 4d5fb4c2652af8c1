// The tile loader: deterministic batches, sampling weights, rare-class crops, normalization.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { readDataset, type DatasetJson } from '../src/data/dataset.js';
import { TileLoader } from '../src/data/loader.js';
import { buildScheduler, refitScheduler, classWeights } from '../src/train/build.js';
import { parseTrainConfig } from '../src/train/config.js';
import { buildOptimizer } from '../src/train/build.js';
import { oneGroup } from '../src/train/param-groups.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

let folder = '';
let ds: DatasetJson;

before(async () => {
  folder = await tinyDataset(mkdtempSync(join(tmpdir(), 'geoseg-loader-')));
  ds = readDataset(folder);
});

const base = () => ({ tiles: [0, 1], crop: 64, batch: 4, seed: 9, augmentation: {}, scale: [255, 255, 255] });

test('batch k depends only on (seed, k): same batch twice, other k or seed differ', async () => {
  const a = new TileLoader(folder, ds, base());
  const b = new TileLoader(folder, ds, base());
  const c = new TileLoader(folder, ds, { ...base(), seed: 10 });
  await torch.tidy(async () => {
    const x = a.assemble(5, await a.fetch(5));
    const y = b.assemble(5, await b.fetch(5));
    assert.ok(x.images.equal(y.images) && x.masks.equal(y.masks));
    assert.deepEqual(x.images.shape, [4, 3, 64, 64]);
    assert.deepEqual(x.masks.shape, [4, 64, 64]);
    assert.equal(x.masks.dtype, 'int64');
    const z = a.assemble(6, await a.fetch(6));
    assert.ok(!z.images.equal(x.images));
    const w = c.assemble(5, await c.fetch(5));
    assert.ok(!w.images.equal(x.images));
  });
  for (const l of [a, b, c]) l.dispose();
});

test('normalization is (raw - mean) / std, crops come from the planned tile and corner', async () => {
  const l = new TileLoader(folder, ds, base());
  await torch.tidy(async () => {
    const plan = l.plan(3);
    const batch = l.assemble(3, await l.fetch(3));
    const p = plan[0];
    const tile = torch.loadSafetensors(join(folder, ds.tiles[p.tile].file));
    const raw = tile.image.narrow(1, p.y, 64).narrow(2, p.x, 64).to('float64');
    const mean = torch.tensor(ds.normalization.mean, { dtype: 'float64', shape: [3, 1, 1] });
    const std = torch.tensor(ds.normalization.std, { dtype: 'float64', shape: [3, 1, 1] });
    const expected = raw.sub(mean).div(std);
    assert.ok(batch.images.select(0, 0).to('float64').sub(expected).abs().max().item() < 1e-4);
    assert.ok(batch.masks.select(0, 0).equal(tile.mask.narrow(0, p.y, 64).narrow(1, p.x, 64).to('int64')));
  });
  l.dispose();
});

test('sampling weights decide the tiles; the rare-class crop has the most rare pixels of its candidates', async () => {
  const weights = new Array(ds.tiles.length).fill(0);
  weights[1] = 1;
  const l = new TileLoader(folder, ds, { ...base(), weights });
  for (let k = 1; k <= 20; k++) assert.ok(l.plan(k).every((p) => p.tile === 1));
  l.dispose();
  assert.throws(() => new TileLoader(folder, ds, { ...base(), weights: new Array(ds.tiles.length).fill(0) }), /every training tile has sampling weight 0/);
  assert.throws(() => new TileLoader(folder, ds, { ...base(), crop: 512 }), /crop 512 is larger than the dataset's tiles \(256\)/);
  // rare class 1 (blue): with 16 candidates the crop holds at least as many class-1 pixels as the plain random crop
  const plain = new TileLoader(folder, ds, base());
  const rare = new TileLoader(folder, ds, { ...base(), rareClasses: [1], rareCropCandidates: 16 });
  let better = 0;
  await torch.tidy(async () => {
    for (let k = 1; k <= 5; k++) {
      const a = plain.assemble(k, await plain.fetch(k)).masks.eq(1).sum([1, 2]).data() as BigInt64Array;
      const b = rare.assemble(k, await rare.fetch(k)).masks.eq(1).sum([1, 2]).data() as BigInt64Array;
      a.forEach((n, i) => {
        assert.ok(b[i] >= n, `rare crop ${b[i]} ≥ random crop ${n}`);
        if (b[i] > n) better++;
      });
    }
  });
  assert.ok(better > 0, 'and more in some cases');
  plain.dispose();
  rare.dispose();
});

test('class weights from the training tiles; schedulers need what they need', () => {
  const cfg = (extra: object) => parseTrainConfig({ out: 'o', data: { dataset: 'd' }, train: { iterations: 100 }, ...extra }, 'run.yaml');
  const val = (ds.split as { val: number[] }).val;
  let f = [0, 0];
  for (const t of ds.tiles) if (!val.includes(t.id)) t.histogram.forEach((n, c) => { f[c] += n; });
  const total = f[0] + f[1];
  f = f.map((n) => n / total);
  const inv = classWeights(cfg({ classWeights: 'inverse' }), ds, val, 'run.yaml')!;
  assert.ok(Math.abs(inv[0] - 1 / f[0]) < 1e-9 && Math.abs(inv[1] - 1 / f[1]) < 1e-9);
  const med = classWeights(cfg({ classWeights: 'median' }), ds, val, 'run.yaml')!;
  assert.ok(Math.abs(med[0] * f[0] - med[1] * f[1]) < 1e-9, 'median-frequency weights equalize w·f');
  assert.throws(() => classWeights(cfg({ classWeights: [1, 2, 3] }), ds, val, 'run.yaml'), /classWeights: expected 2 numbers/);
  const params = [torch.zeros([2], { requiresGrad: true })];
  // train.minutes alone: the trainer passes the fitted length; a refit mid-run continues as if built with the new length
  for (const scheduler of [{ name: 'poly', warmup: 5 }, { name: 'cosine' }, { name: 'restarts', warmup: 3 }]) {
    const fitted = parseTrainConfig({ out: 'o', data: { dataset: 'd' }, train: { minutes: 1 }, scheduler, optimizer: { lr: 0.1 } }, 'run.yaml');
    assert.throws(() => buildScheduler(buildOptimizer(oneGroup(params), fitted.optimizer), fitted, 'run.yaml'), /needs train\.iterations or train\.minutes/);
    const refitOpt = buildOptimizer(oneGroup(params), fitted.optimizer);
    let refit = buildScheduler(refitOpt, fitted, 'run.yaml', 1e9);
    for (let i = 0; i < 12; i++) refit.scheduler!.step();
    refit = refitScheduler(refit, refitOpt, fitted, 'run.yaml', 60);
    const directOpt = buildOptimizer(oneGroup(params), fitted.optimizer);
    const direct = buildScheduler(directOpt, fitted, 'run.yaml', 60);
    for (let i = 0; i < 12; i++) direct.scheduler!.step();
    for (let i = 0; i < 40; i++) {
      assert.equal(refitOpt.paramGroups[0].lr, directOpt.paramGroups[0].lr, `${scheduler.name}, step ${12 + i}`);
      refit.scheduler!.step();
      direct.scheduler!.step();
    }
  }
  const poly = cfg({ scheduler: { name: 'poly', warmup: 10 }, optimizer: { lr: 0.1 } });
  const opt = buildOptimizer(oneGroup(params), poly.optimizer);
  const s = buildScheduler(opt, poly, 'run.yaml');
  for (let i = 0; i < 10; i++) s.scheduler!.step();
  assert.ok(Math.abs(opt.paramGroups[0].lr - 0.1) < 1e-12, 'warmup ends at the base lr');
  for (let i = 0; i < 45; i++) s.scheduler!.step();
  assert.ok(Math.abs(opt.paramGroups[0].lr - 0.1 * (1 - 45 / 90) ** 0.9) < 1e-9, 'then poly over the remaining 90 iterations');
});
