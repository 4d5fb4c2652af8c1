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
import { addHistograms, applyMatching, matchingTable } from '../src/data/histogram-match.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBand, readTensor } from './helpers/read-raster.js';
import { slowTest } from './helpers/tier.js';

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


/** Python's matching of `source` [B, H, W] to `reference` [B, h, w] (uint8, or int16 with `int16`). */
function pythonMatch(source: Tensor, reference: Tensor, dtype: 'uint8' | 'int16' = 'uint8'): Tensor {
  const [s, r, o] = ['src.bin', 'ref.bin', 'out.bin'].map((f) => join(dir, f));
  writeFileSync(s, source.to(dtype).contiguous().bytes());
  writeFileSync(r, reference.to(dtype).contiguous().bytes());
  const p = spawnSync(python!, [fixture, s, r, String(source.shape[0]), o, dtype], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  return torch.fromBuffer(readFileSync(o), dtype, source.shape);
}

/** Exact counts over every value of the type: 8-bit from 0, 16-bit (int16) from −32768. */
const histograms = (img: Tensor, lo = 0, size = 256) => {
  const h = torch.zeros([img.shape[0], size], { dtype: 'float64' });
  addHistograms(h, img, lo);
  const out = { lo, counts: h.toArray() as number[][] };
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

slowTest('prepare --match-histograms writes tiles of the matched scene and records the histograms; predict --match-histograms predicts the matched scene', needsPython, async () => {
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
  assert.deepEqual(ds.histograms, histograms(expected).counts);

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

  // floating-point imagery is refused with one line
  const float = join(dir, 'float.tif');
  await writeCog(float, source.to('float32'));
  const bad = predict(float, 'bad.tif', '--match-histograms', out);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /^geoseg: .*float\.tif: histogram matching takes integer bands of up to 16 bits \(Byte, UInt16, Int16\), all of one type; this raster has Float32 bands\n$/);
  torch.dispose([source, expected, stored, shifted]);
});

test('16-bit imagery: an int16 band from −500 matched to one from 1000 adds 1500 (closed form); a wide-range scene equals the numpy reference', needsPython, () => {
  torch.tidy(() => {
    const source = torch.arange(-500, 500).repeat([20]).to('int16').view([1, 20, 1000]);
    const reference = torch.arange(1000, 2000).repeat([7]).to('int16').view([1, 7, 1000]);
    const table = matchingTable(histograms(source, -32768, 65536), histograms(reference, -32768, 65536));
    assert.ok(applyMatching(source, table, null, -32768).to('int64').sub(source.to('int64')).eq(1500).all().item());
    // 3 bands of 12-bit-like sensor values (skewed, with negatives) against another distribution
    torch.manualSeed(9);
    const s = torch.rand([3, 64, 80]).pow(2).mul(4000).sub(300).round().to('int16');
    const r = torch.randn([3, 50, 60]).mul(700).add(1500).round().clamp(-32768, 32767).to('int16');
    const ours = applyMatching(s, matchingTable(histograms(s, -32768, 65536), histograms(r, -32768, 65536)), null, -32768);
    const expected = pythonMatch(s, r, 'int16');
    assert.equal(ours.dtype, 'int16');
    assert.equal(ours.ne(expected).sum().item(), 0, 'every value as numpy');
  });
});

test('prepare and predict --match-histograms on Int16 scenes: tiles and the dataset\'s recorded histograms (trimmed, with their offset) are the matched scene\'s', needsPython, async () => {
  const sub = join(dir, 'int16');
  mkdirSync(join(sub, 'images'), { recursive: true });
  mkdirSync(join(sub, 'labels'));
  torch.manualSeed(12);
  const scene = torch.rand([3, 256, 256]).pow(2).mul(3000).add(200).round().to('int16').keep();
  const ref = torch.randn([3, 128, 128]).mul(400).add(2500).round().to('int16').keep();
  await writeCog(join(sub, 'images', 'a.tif'), scene);
  await writeCog(join(sub, 'labels', 'a.tif'), torch.zeros([1, 256, 256], { dtype: 'uint8' }));
  await writeCog(join(sub, 'ref.tif'), ref);
  writeFileSync(join(sub, 'classes.yaml'), 'classes:\n  - { id: 0, name: a, color: "#FF0000" }\n  - { id: 1, name: b, color: "#00FF00" }\n');
  const out = join(sub, 'ds');
  const r = geoseg('prepare', '--images', join(sub, 'images'), '--labels', join(sub, 'labels'), '--classes', join(sub, 'classes.yaml'), '--out', out, '--tile', '256', '--overlap', '0', '--match-histograms', join(sub, 'ref.tif'));
  assert.equal(r.status, 0, r.stderr);
  const expected = pythonMatch(scene, ref, 'int16');
  const ds = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
  const stored = torch.loadSafetensors(join(out, ds.tiles[0].file)).image;
  assert.ok(stored.equal(expected), 'the tile is the matched scene');
  const full = histograms(expected, -32768, 65536);
  const first = full.counts[0].findIndex((_, i) => full.counts.some((b) => b[i] > 0));
  assert.equal(ds.histogramsOffset, -32768 + first);
  assert.deepEqual(ds.histograms, full.counts.map((b) => b.slice(first, first + ds.histograms[0].length)));
  torch.dispose([scene, ref, expected, stored]);
});
