// geoseg discover (issue 21): features of hand-built thumbnails by closed form, k-means on two
// obvious groups, and the command on Dubai scenes plus "another sensor" (the same scenes hazy,
// with another colour response): those are flagged far from a dataset of the originals, which are not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { Raster, writeCog } from '../src/index.js';
import { kMeans, thumbnailFeatures } from '../src/data/discover.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const demo = join(here, '..', '..', '..', 'demo', 'dubai');
const cli = join(here, '..', 'dist', 'cli', 'main.js');
let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'geoseg-discover-')); });
after(() => rmSync(dir, { recursive: true, force: true }));
const geoseg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8' });

test('thumbnail features by closed form: a two-valued band, a constant band', () => {
  torch.tidy(() => {
    // band 1: left half 0, right half 100 (20 × 20); band 2: 7 everywhere
    const t = torch.zeros([2, 20, 20]);
    t.select(0, 0).narrow(1, 10, 10).fill_(100);
    t.select(0, 1).fill_(7);
    const f = thumbnailFeatures(t);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-4, `${what}: ${a} vs ${b}`);
    close(f[0], 50, 'mean');
    close(f[1], Math.sqrt((400 * 2500) / 399), 'std (unbiased)');
    close(f[2], 0, 'p5');
    close(f[3], 50, 'p50 (linear interpolation between the halves)');
    close(f[4], 100, 'p95');
    [7, 0, 7, 7, 7].forEach((v, i) => close(f[5 + i], v, `band 2 feature ${i}`));
    // texture of the band mean (0 | 53.5): only the two columns beside the step have a gradient
    assert.ok(f[10] > 0 && f[11] > 0);
    const flat = thumbnailFeatures(torch.full([1, 16, 16], 3));
    close(flat[5], 0, 'no gradient on a constant image');
    close(flat[6], 0, 'no Laplacian on a constant image');
  });
});

test('k-means finds two obvious groups, the same ones for a seed', () => {
  torch.tidy(() => {
    const points = [[0, 0], [0.1, 0.2], [-0.1, 0.1], [10, 10], [10.2, 9.9], [9.8, 10.1], [0.05, -0.1]];
    for (const seed of [0, 1, 2]) {
      const { labels, centres } = kMeans(torch.tensor(points, { dtype: 'float64' }), 2, seed);
      const a = labels[0];
      assert.deepEqual(labels.map((l) => (l === a ? 'A' : 'B')), ['A', 'A', 'A', 'B', 'B', 'B', 'A'], `seed ${seed}`);
      const c = centres.select(0, labels[3]).toArray() as number[];
      assert.ok(Math.abs(c[0] - 10) < 1e-9 && Math.abs(c[1] - 10) < 1e-9, 'the centre is the group mean');
      assert.deepEqual(kMeans(torch.tensor(points, { dtype: 'float64' }), 2, seed).labels, labels, 'deterministic');
    }
    assert.throws(() => kMeans(torch.zeros([3, 2]), 4), /4 clusters for 3 scenes/);
  });
});

slowTest('geoseg discover: clusters, contact sheets, and the scenes of another sensor flagged far from the training set', {}, async () => {
  const images = join(dir, 'train', 'images'), labels = join(dir, 'train', 'labels'), scenes = join(dir, 'scenes');
  for (const d of [images, labels, scenes]) mkdirSync(d, { recursive: true });
  const names = readdirSync(join(demo, 'images', 'tile_1')).map((f) => f.replace(/\.jpg$/, ''));
  for (const n of names) {
    copyFileSync(join(demo, 'images', 'tile_1', `${n}.jpg`), join(images, `${n}.jpg`));
    copyFileSync(join(demo, 'masks', 'tile_1', `${n}.png`), join(labels, `${n}.png`));
    copyFileSync(join(demo, 'images', 'tile_1', `${n}.jpg`), join(scenes, `${n}.jpg`));
  }
  for (const n of names.slice(0, 3)) {
    const r = await Raster.open(join(images, `${n}.jpg`));
    const img = await r.read({ x: 0, y: 0, width: r.info.width, height: r.info.height });
    r.close();
    // hazy, with another radiometric response: R·0.35 + 60, G·0.6 + 60, B as it was
    const cast = torch.tidy(() => img.to('float32').mul(torch.tensor([0.35, 0.6, 1], { shape: [3, 1, 1] })).add(torch.tensor([60, 60, 0], { shape: [3, 1, 1] })).round().clamp(0, 255).to('uint8'));
    await writeCog(join(scenes, `othersensor_${n}.tif`), cast);
    cast.dispose();
    img.dispose();
  }
  const ds = join(dir, 'ds');
  const p = geoseg('prepare', '--images', images, '--labels', labels, '--classes', join(demo, 'classes.yaml'), '--out', ds);
  assert.equal(p.status, 0, p.stderr);
  const out = join(dir, 'found');
  const r = geoseg('discover', scenes, '--out', out, '--clusters', '3', '--dataset', ds);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  // measured 2026-12-02: threshold 5.22; the other sensor's scenes 6.66–7.06 from their nearest training scene
  const far = result.scenes.filter((s: { far: boolean }) => s.far).map((s: { path: string }) => s.path.split('/').pop()).sort();
  assert.deepEqual(far, names.slice(0, 3).map((n) => `othersensor_${n}.tif`).sort(), 'exactly the othersensor scenes are far');
  // the other sensor's scenes share a cluster that holds nothing else
  const clusterOf = (name: string) => result.scenes.find((s: { path: string }) => s.path.endsWith(`/${name}`)).cluster;
  const othersensor = new Set(names.slice(0, 3).map((n) => clusterOf(`othersensor_${n}.tif`)));
  assert.equal(othersensor.size, 1);
  assert.ok(names.every((n) => clusterOf(`${n}.jpg`) !== [...othersensor][0]));
  for (const c of result.clusters) {
    assert.ok(existsSync(join(out, c.sheet)));
    const sheet = await Raster.open(join(out, c.sheet));
    assert.equal(sheet.info.bandCount, 3);
    assert.equal(sheet.info.width, 4 + Math.min(6, c.size) * 132);
    sheet.close();
  }
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'discover.json'), 'utf8')).clusters, result.clusters);
  // an existing result is replaced only with --overwrite
  const again = geoseg('discover', scenes, '--out', out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^geoseg: .*found: .*--overwrite/);
  assert.equal(geoseg('discover', scenes, '--out', out, '--overwrite').status, 0);
  const bad = geoseg('discover', scenes, '--out', out, '--clusters', '99', '--overwrite');
  assert.match(bad.stderr, /^geoseg: --clusters: 99: give 1 to 12 \(the scenes found\)\n$/);
});
