// predict --crf and eval --crf (issue 21): the dense CRF runs on each window inside the streamed
// path. One window covering a 64×64 Dubai crop: the classes are the argmax of denseCrf (checked
// against brute force in dense-crf.test.ts) of the model's probabilities; bad parameters get one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { Raster, writeCog } from '../src/index.js';
import { loadCheckpoint } from '../src/models/checkpoint.js';
import { normalize, normalizationTensors } from '../src/infer/normalize.js';
import { denseCrf } from '../src/infer/crf/dense-crf.js';
import { parseCrf } from '../src/infer/crf/crf-options.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBand } from './helpers/read-raster.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const demo = join(here, '..', '..', '..', 'demo', 'dubai');
let dir: string;
let checkpoint: string;
let input: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-crf-'));
  checkpoint = randomCheckpoint(dir);
  input = join(dir, 'scene.tif');
  const r = await Raster.open(join(demo, 'images/tile_1/image_part_001.jpg'));
  const img = await r.read({ x: 576, y: 64, width: 64, height: 64 });
  r.close();
  await writeCog(input, img.to('uint8'), { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640' });
  img.dispose();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd: string, name: string, ...extra: string[]) => spawnSync(process.execPath, [cli, cmd, '--checkpoint', checkpoint, '--input', input, '--output', join(dir, `${name}.tif`), '--window', '64', '--blend', 'uniform', '--json', ...extra], { encoding: 'utf8' });

test('predict --crf gives the argmax of the dense CRF of the model\'s window probabilities', async () => {
  const crfText = 'sxy=20,srgb=13,compat=10,iterations=5';
  const plain = run('predict', 'plain');
  assert.equal(plain.status, 0, plain.stderr);
  const refined = run('predict', 'crf', '--crf', crfText);
  assert.equal(refined.status, 0, refined.stderr);
  const expected = await torch.tidy(async () => {
    const { model, meta } = loadCheckpoint(checkpoint);
    model.eval();
    const r = await Raster.open(input);
    const raw = await r.read({ x: 0, y: 0, width: 64, height: 64 });
    r.close();
    const p = torch.inferenceMode(() => model.predictProbabilities(normalize(raw, normalizationTensors(meta.normalization)).unsqueeze(0)).squeeze(0));
    return { crf: Array.from(denseCrf(p, raw, parseCrf(crfText)).argmax(0).to('uint8').data()), plain: Array.from(p.argmax(0).to('uint8').data()) };
  });
  const got = Array.from(readBand(join(dir, 'crf.tif')));
  const gotPlain = Array.from(readBand(join(dir, 'plain.tif')));
  const same = (a: number[], b: number[]) => a.filter((v, i) => v === b[i]).length / a.length;
  console.log(`crf output matches the library's CRF on ${same(got, expected.crf)}, plain output matches plain argmax on ${same(gotPlain, expected.plain)}; the CRF changed ${1 - same(got, gotPlain)} of the pixels`);
  assert.ok(same(gotPlain, expected.plain) >= 0.999);
  assert.ok(same(got, expected.crf) >= 0.999, 'predict --crf is the CRF of the window probabilities');
  assert.ok(1 - same(got, gotPlain) > 0.01, 'the CRF changes the map');
});

test('--crf parameters are checked: one line, exit 2, no output', () => {
  for (const [value, message] of [
    ['sxy=0', /^geoseg: --crf: sxy must be a number > 0, got '0'\n$/],
    ['iterations=2.5', /^geoseg: --crf: iterations must be a positive integer, got '2.5'\n$/],
    ['radius=3', /^geoseg: --crf: expected 'default' or key=value pairs .*got 'radius=3'\n$/],
  ] as const) {
    const r = run('predict', 'bad', '--crf', value);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});
