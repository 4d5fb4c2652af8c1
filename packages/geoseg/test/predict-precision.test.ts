// predict and eval with --precision bf16 (CPU bfloat16 autocast): the same pipeline, class maps
// that agree with float32's almost everywhere, and a clear refusal of other precisions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { writeCog } from '../src/index.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBand } from './helpers/read-raster.js';
import { slowTest } from './helpers/tier.js';
import { bf16Warning } from '../src/cli/bf16-warning.js';
import { bf16Emulated } from '../src/cpu-features.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
let dir: string;
let checkpoint: string;
let input: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-precision-'));
  checkpoint = randomCheckpoint(dir);
  input = join(dir, 'scene.tif');
  await torch.tidy(async () => {
    torch.manualSeed(8);
    // smooth blobs rather than noise: class regions a model's decision is stable on
    const base = torch.rand([3, 12, 12]).mul(255).unsqueeze(0);
    const img = torch.nn.functional.interpolate(base, { size: [192, 192], mode: 'bilinear', alignCorners: false }).squeeze(0).clamp(0, 255).to('uint8');
    await writeCog(input, img, { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640' });
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const predict = (name: string, ...extra: string[]) => spawnSync(process.execPath, [cli, 'predict', '--checkpoint', checkpoint, '--input', input, '--output', join(dir, `${name}.tif`), '--window', '64', '--batch', '2', ...extra], { encoding: 'utf8' });

slowTest('predict --precision bf16 gives the float32 classes on at least 99% of the pixels; other precisions are refused', {}, () => {
  assert.equal(predict('fp32').status, 0);
  const r = predict('bf16', '--precision', 'bf16');
  assert.equal(r.status, 0, r.stderr);
  // on a CPU that only emulates bf16, one warning line when the run has ended (none otherwise)
  const messages = r.stderr.split('\n').filter((l) => l.startsWith('geoseg:')); // (the rest: progress)
  assert.deepEqual(messages, bf16Emulated() ? [bf16Warning('cpu', '--precision bf16')] : []);
  assert.ok(r.stderr.endsWith(bf16Emulated() ? `${messages[0]}\n` : ''), 'the warning comes when the run has ended');
  const [a, b] = [readBand(join(dir, 'fp32.tif')), readBand(join(dir, 'bf16.tif'))];
  let same = 0;
  a.forEach((v, i) => { if (v === b[i]) same++; });
  const agreement = same / a.length;
  console.log(`# bf16 agrees with fp32 on ${(100 * agreement).toFixed(2)}% of ${a.length} pixels`);
  assert.ok(agreement >= 0.99 && agreement <= 1, `agreement ${agreement}`);
  const bad = predict('fp16', '--precision', 'fp16');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^geoseg: --precision: fp32 or bf16, got 'fp16'\n$/);
});
