// One sliding-window path: `geoseg eval --maps` streams a scene from its prepared tiles through
// the same window grid and blender as `geoseg predict` reads it from the GeoTIFF, so the same
// checkpoint and window options give the same class and confidence rasters, pixel for pixel;
// and eval's confusion matrix is the count of (label, predicted class) pairs of those pixels.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { prepare, writeCog } from '../src/index.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBand } from './helpers/read-raster.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
// A scene of several tiles (256², the last row and column snapped to the border), windows of 128
// with several batches per window row and rows carried between window rows.
const [W, H] = [600, 450];
let dir = '';
let dataset = '';
let checkpoint = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-eval-predict-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'labels'));
  await torch.tidy(async () => {
    torch.manualSeed(21);
    const yy = torch.arange(0, H).unsqueeze(1).expand([H, W]);
    const xx = torch.arange(0, W).unsqueeze(0).expand([H, W]);
    const cls = xx.add(yy.mul(0.7)).gt(400).to('uint8').add(yy.gt(300).to('uint8')); // classes 0, 1, 2
    const c = cls.unsqueeze(0).to('float32');
    const img = torch.tensor([200, 40, 40], { shape: [3, 1, 1] }).mul(c.neg().add(1)).add(torch.tensor([40, 60, 200], { shape: [3, 1, 1] }).mul(c))
      .add(torch.randn([3, H, W]).mul(40)).clamp(0, 255).to('uint8');
    const gt = [500000, 0.5, 0, 2800000, 0, -0.5];
    await writeCog(join(dir, 'images', 's.tif'), img, { geoTransform: gt, crs: 'EPSG:32640' });
    await writeCog(join(dir, 'labels', 's.tif'), cls.unsqueeze(0), { geoTransform: gt, crs: 'EPSG:32640' });
  });
  writeFileSync(join(dir, 'classes.yaml'), 'classes:\n  - { id: 0, name: red, color: "#C82828" }\n  - { id: 1, name: blue, color: "#283CC8" }\n  - { id: 2, name: green, color: "#28C828" }\n');
  dataset = join(dir, 'ds');
  await prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out: dataset, tile: 256, overlap: 0 });
  checkpoint = randomCheckpoint(dir, { classes: 3, names: ['red', 'blue', 'green'] });
});

const geoseg = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

test('eval --maps and predict of the same scene and checkpoint: the same classes and confidence, pixel for pixel', () => {
  const windows = ['--window', '128', '--overlap', '0.25', '--batch', '3', '--blend', 'hann'];
  const ev = geoseg(['eval', '--checkpoint', checkpoint, '--data', dataset, '--split', 'all', '--maps', join(dir, 'maps'), ...windows]);
  const pr = geoseg(['predict', '--checkpoint', checkpoint, '--input', join(dir, 'images', 's.tif'), '--output', join(dir, 'pred.tif'), '--confidence', join(dir, 'conf.tif'), ...windows]);
  assert.deepEqual(ev.maps, [join(dir, 'maps', 's')]);
  assert.ok(pr.windows >= 20, `${pr.windows} windows`);
  const evClasses = readBand(join(dir, 'maps', 's', 'prediction.tif')), prClasses = readBand(join(dir, 'pred.tif'));
  const evConf = readBand(join(dir, 'maps', 's', 'confidence.tif')), prConf = readBand(join(dir, 'conf.tif'));
  assert.equal(evClasses.length, W * H);
  let classDiff = 0, confDiff = 0;
  for (let i = 0; i < W * H; i++) {
    if (evClasses[i] !== prClasses[i]) classDiff++;
    if (evConf[i] !== prConf[i]) confDiff++;
  }
  assert.equal(classDiff, 0, `${classDiff} pixels of another class`);
  assert.equal(confDiff, 0, `${confDiff} pixels of another confidence`);
  // the random model predicts several classes, and is unsure in places: a shifted window shows
  assert.ok(pr.classes.filter((c: { pixels: number }) => c.pixels > W * H / 20).length >= 2, JSON.stringify(pr.classes));
  assert.ok(prConf.reduce((a, v) => Math.min(a, v), 255) < 200);
  // eval scores the pixels it predicted against the labels of the same rows
  const labels = readBand(join(dir, 'labels', 's.tif'));
  const counted = [0, 1, 2].map(() => [0, 0, 0]);
  for (let i = 0; i < W * H; i++) counted[labels[i]][prClasses[i]]++;
  assert.deepEqual(ev.matrix, counted);
  assert.deepEqual(Array.from(readBand(join(dir, 'maps', 's', 'truth.tif'))), Array.from(labels), 'the truth layer is the labels');
});
