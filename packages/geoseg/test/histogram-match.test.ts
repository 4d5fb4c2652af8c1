// Histogram matching (issue 21: cross-sensor colour normalisation). The numbers come from
// test/fixtures/match_histograms.py, skimage's rule written out in numpy (needs python3 with
// numpy, skipped otherwise), and from a closed form; prepare --match-histograms and predict
// --match-histograms are checked against that reference on real Dubai scenes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { writeCog } from '../src/index.js';
import { addByteHistograms, applyMatching, matchingTable } from '../src/data/histogram-match.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBand, readTensor } from './helpers/read-raster.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const demo = join(repo, 'demo', 'dubai');
const fixture = join(here, 'fixtures', 'match_histograms.py');
const python = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0);
const needsPython = { skip: python ? false : 'no python3 with numpy' };
let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'geoseg-histmatch-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const geoseg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8' });


/** Python's matching of `source` [B, H, W] to `reference` [B, h, w] (uint8). */
function pythonMatch(source: Tensor, reference: Tensor): Tensor {
  const [s, r, o] = ['src.bin', 'ref.bin', 'out.bin'].map((f) => join(dir, f));
  writeFileSync(s, source.contiguous().data() as Uint8Array);
  writeFileSync(r, reference.contiguous().data() as Uint8Array);
  const p = spawnSync(python!, [fixture, s, r, String(source.shape[0]), o], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  return torch.fromBuffer(readFileSync(o), 'uint8', source.shape);
}

const histograms = (img: Tensor) => {
  const h = torch.zeros([img.shape[0], 256], { dtype: 'float64' });
  addByteHistograms(h, img);
  const out = h.toArray() as number[][];
  h.dispose();
  return out;
};

test('matching a uniform 0..99 band to a uniform 100..199 one adds 100 (closed form)', () => {
  torch.tidy(() => {
    const source = torch.arange(100).repeat([50]).to('uint8').view([1, 50, 100]);
    const reference = torch.arange(100, 200).repeat([30]).to('uint8').view([1, 30, 100]);
    const table = matchingTable(histograms(source), histograms(reference));
    assert.deepEqual(Array.from(table.select(0, 0).narrow(0, 0, 100).data()), Array.from({ length: 100 }, (_, v) => v + 100));
    assert.ok(applyMatching(source, table).to('int64').sub(source.to('int64')).eq(100).all().item());
  });
});

test('matching a Dubai scene to another equals skimage\'s rule (numpy reference) on every pixel', needsPython, async () => {
  const source = await readTensor(join(demo, 'images/tile_1/image_part_001.jpg'));
  const reference = await readTensor(join(demo, 'images/tile_6/image_part_001.jpg'));
  const ours = torch.tidy(() => applyMatching(source, matchingTable(histograms(source), histograms(reference))));
  const expected = pythonMatch(source, reference);
  const differing = ours.ne(expected).sum().item();
  assert.equal(differing, 0, `${differing} of ${ours.numel()} values differ from the numpy reference`);
  // not the identity: the scenes' colours differ
  assert.ok(ours.to('float32').sub(source.to('float32')).abs().mean().item() > 3);
  torch.dispose([source, reference, ours, expected]);
});

test('prepare --match-histograms writes tiles of the matched scene and records the histograms; predict --match-histograms predicts the matched scene', needsPython, async () => {
  const images = join(dir, 'images'), labels = join(dir, 'labels');
  mkdirSync(images);
  mkdirSync(labels);
  copyFileSync(join(demo, 'images/tile_1/image_part_001.jpg'), join(images, 'a.jpg'));
  copyFileSync(join(demo, 'masks/tile_1/image_part_001.png'), join(labels, 'a.png'));
  const referenceScene = join(demo, 'images/tile_6/image_part_001.jpg');
  const out = join(dir, 'ds');
  const r = geoseg('prepare', '--images', images, '--labels', labels, '--classes', join(demo, 'classes.yaml'), '--out', out, '--tile', '256', '--overlap', '0', '--match-histograms', referenceScene);
  assert.equal(r.status, 0, r.stderr);
  const ds = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
  assert.equal(ds.histogramMatch.reference, referenceScene);
  const source = await readTensor(join(images, 'a.jpg'));
  const expected = pythonMatch(source, await readTensor(referenceScene));
  // the tile at (256, 256) holds the matched scene's pixels there
  const tile = ds.tiles.find((t: { x: number; y: number }) => t.x === 256 && t.y === 256);
  const stored = torch.loadSafetensors(join(out, tile.file)).image;
  assert.ok(stored.equal(expected.narrow(1, 256, 256).narrow(2, 256, 256).contiguous()), 'the tile is the matched scene');
  // the recorded histograms are the matched scene's
  assert.deepEqual(ds.histograms, histograms(expected));

  // predict --match-histograms <dataset>: the model sees the scene matched to the dataset's histograms
  const checkpoint = randomCheckpoint(dir);
  const newSensor = join(dir, 'new-sensor.tif');
  const shifted = torch.tidy(() => source.to('float32').div(255).pow(1.6).mul(200).round().to('uint8'));
  await writeCog(newSensor, shifted);
  const matchedScene = join(dir, 'matched.tif');
  await writeCog(matchedScene, pythonMatch(shifted, expected));
  const predict = (input: string, output: string, ...extra: string[]) => geoseg('predict', '--checkpoint', checkpoint, '--input', input, '--output', join(dir, output), '--window', '256', ...extra);
  for (const p of [predict(newSensor, 'matched-by-predict.tif', '--match-histograms', out), predict(matchedScene, 'on-matched.tif'), predict(newSensor, 'plain.tif')]) assert.equal(p.status, 0, p.stderr);
  const [a, b, c] = ['matched-by-predict.tif', 'on-matched.tif', 'plain.tif'].map((f) => readBand(join(dir, f)));
  assert.deepEqual(a, b, 'predict --match-histograms = predict on the scene matched in Python');
  assert.notDeepEqual(a, c, 'matching changes the prediction');

  // 16-bit imagery is refused with one line
  const wide = join(dir, 'wide.tif');
  await writeCog(wide, source.to('int16'));
  const bad = predict(wide, 'bad.tif', '--match-histograms', out);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /^geoseg: .*wide\.tif: histogram matching takes 8-bit imagery for now, this raster has Int16 bands\n$/);
  torch.dispose([source, expected, stored, shifted]);
});
