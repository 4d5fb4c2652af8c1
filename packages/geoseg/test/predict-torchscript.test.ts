// geoseg predict --model: a torchvision DeepLabV3 exported from Python with torch.jit.script runs
// through the same streamed window path; its classes equal Python's own prediction of the image.
// Needs Python PyTorch with torchvision (python3-torch, python3-torchvision): skipped without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { writeCog } from '../src/raster/index.js';
import { readBand } from './helpers/read-raster.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const geoseg = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'packages/geoseg/dist/cli/main.js'), ...args], { encoding: 'utf8' });
const python = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import torch, torchvision, numpy'], { stdio: 'ignore' }).status === 0);
const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

slowTest('predict --model: a scripted torchvision DeepLabV3 predicts a scene as Python does; its card is checked', { skip: python ? false : 'no Python with torch and torchvision' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-ts-'));
  const [h, w] = [96, 96];
  const img = torch.tidy(() => {
    torch.manualSeed(4);
    const yy = torch.arange(0, h).unsqueeze(1).expand([h, w]);
    const xx = torch.arange(0, w).unsqueeze(0).expand([h, w]);
    const c = xx.add(yy).gt(70).to('float32').unsqueeze(0);
    return torch.tensor([200, 60, 40], { shape: [3, 1, 1] }).mul(c.neg().add(1)).add(torch.tensor([30, 90, 210], { shape: [3, 1, 1] }).mul(c))
      .add(torch.randn([3, h, w]).mul(25)).clamp(0, 255).to('uint8').keep();
  });
  const scene = join(dir, 'scene.tif');
  await writeCog(scene, img, { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640' });
  writeFileSync(join(dir, 'image.bin'), img.bytes());
  const model = join(dir, 'deeplabv3.ts.pt');
  execFileSync(python!, [join(here, 'fixtures', 'export_torchscript.py'), model, join(dir, 'image.bin'), String(h), String(w), MEAN.join(','), STD.join(','), join(dir, 'python.bin')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const expected = new Uint8Array(readFileSync(join(dir, 'python.bin')));

  // no card yet: one line naming the file that is missing
  const missing = geoseg('predict', '--model', model, '--input', scene, '--output', join(dir, 'a.tif'));
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr.trim(), new RegExp(`^geoseg: ${model}\\.json: missing: a TorchScript model needs a model card`));
  writeFileSync(`${model}.json`, JSON.stringify({ classes: ['a', 'b'], normalization: { mean: MEAN, std: STD } }));
  const wrongClasses = geoseg('predict', '--model', model, '--input', scene, '--output', join(dir, 'a.tif'), '--json');
  assert.match(wrongClasses.stderr.trim(), /^geoseg: .*deeplabv3\.ts\.pt: forward returned logits \[\d+, 3, \d+, \d+\], expected \[\d+, 2 \(the card's classes\), h, w\]$/);
  writeFileSync(`${model}.json`, JSON.stringify({ classes: ['red', 'blue', 'other'], normalization: { mean: MEAN, std: STD } }));

  // one window over the whole scene: geoseg's classes are the model's argmax, as Python's
  const whole = join(dir, 'whole.tif');
  const r = geoseg('predict', '--model', model, '--input', scene, '--output', whole, '--window', '96', '--overlap', '0', '--blend', 'uniform', '--json');
  assert.equal(r.status, 0, r.stderr);
  const got = readBand(whole);
  let same = 0;
  for (let i = 0; i < got.length; i++) if (got[i] === expected[i]) same++;
  console.log(`# TorchScript DeepLabV3: ${same} of ${got.length} pixels as Python's (classes present: ${[...new Set(expected)].join(',')})`);
  assert.ok(new Set(expected).size > 1, 'the reference uses more than one class');
  assert.ok(same / got.length >= 0.999, `${same} / ${got.length} pixels agree`);
  // streamed: several overlapping windows, blended, the scene's size and classes in range
  const streamed = join(dir, 'streamed.tif');
  const s = geoseg('predict', '--model', model, '--input', scene, '--output', streamed, '--window', '32', '--overlap', '0.5', '--json');
  assert.equal(s.status, 0, s.stderr);
  assert.equal(JSON.parse(s.stdout).windows > 4, true);
  assert.ok(readBand(streamed).every((v) => v < 3));
  // bf16 autocast reaches the scripted model's ops too: the same classes nearly everywhere
  const low = join(dir, 'bf16.tif');
  assert.equal(geoseg('predict', '--model', model, '--input', scene, '--output', low, '--window', '96', '--overlap', '0', '--blend', 'uniform', '--precision', 'bf16', '--json').status, 0);
  const lowClasses = readBand(low);
  const agree = lowClasses.filter((v, i) => v === expected[i]).length / lowClasses.length;
  console.log(`# bf16: ${(100 * agree).toFixed(2)}% of the pixels as fp32`);
  assert.ok(agree > 0.95 && agree < 1, `bf16 agrees on ${agree} (all: autocast did not reach the model)`);
  // many scenes (--output-dir) with the model: the same classes as the one-scene predict
  const scenes = join(dir, 'scenes');
  mkdirSync(scenes);
  copyFileSync(scene, join(scenes, 'scene.tif'));
  const many = geoseg('predict', '--model', model, '--input', scenes, '--output-dir', join(dir, 'many'), '--window', '96', '--overlap', '0', '--blend', 'uniform', '--json');
  assert.equal(many.status, 0, many.stderr);
  assert.deepEqual(readBand(join(dir, 'many', 'scene.tif')), got);
  // eval with the model on a dataset labelled with Python's own classes: the accuracy is the share
  // of pixels where geoseg's classes are Python's
  mkdirSync(join(dir, 'labels'));
  await writeCog(join(dir, 'labels', 'scene.tif'), torch.fromBuffer(Buffer.from(expected), 'uint8', [1, h, w]));
  writeFileSync(join(dir, 'classes.yaml'), 'classes:\n  - { id: 0, name: red, color: "#FF0000" }\n  - { id: 1, name: blue, color: "#0000FF" }\n  - { id: 2, name: other, color: "#00FF00" }\n');
  const prep = geoseg('prepare', '--images', scenes, '--labels', join(dir, 'labels'), '--classes', join(dir, 'classes.yaml'), '--out', join(dir, 'ds'), '--tile', '256', '--overlap', '0');
  assert.equal(prep.status, 0, prep.stderr);
  const ev = geoseg('eval', '--model', model, '--data', join(dir, 'ds'), '--split', 'all', '--window', '96', '--overlap', '0', '--blend', 'uniform', '--json');
  assert.equal(ev.status, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).pixelAccuracy, same / got.length);
  assert.match(geoseg('eval', '--model', model, '--checkpoint', dir, '--data', join(dir, 'ds')).stderr, /^geoseg: --model and --checkpoint: give one of them/);
  assert.notEqual(geoseg('predict', '--model', model, '--checkpoint', dir, '--input', scene, '--output', join(dir, 'b.tif')).status, 0);
  assert.match(geoseg('predict', '--model', model, '--weights', 'ema', '--input', scene, '--output', join(dir, 'b.tif')).stderr, /^geoseg: --weights: for checkpoints/);
  rmSync(dir, { recursive: true, force: true });
});
