// train.precision: bf16-mixed (CPU bfloat16 autocast in the forward pass, float32 loss, weights
// and optimizer state): the same run as float32 to bfloat16's precision at the start, and it learns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const losses = (run: string) => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'train').map((e) => e.loss as number);

slowTest('bf16-mixed: the first loss is float32\'s to bfloat16 precision, the run learns, and weights and gradients stay float32', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-bf16-'));
  const ds = await tinyDataset(dir);
  const config = (precision: string) => parseTrainConfig({
    out: join(dir, precision), data: { dataset: ds, crop: 64, batch: 4 }, model: { arch: 'unet', encoder: 'resnet18', decoderChannels: [64, 32, 32, 16, 16] },
    loss: 'ce', optimizer: { name: 'adam', lr: 0.002 }, eval: { window: 128, batch: 4 },
    train: { iterations: 12, logEvery: 1, checkpointEvery: 12, seed: 3, threads: 2, precision },
  }, 'run.yaml');
  await train(config('fp32'));
  await train(config('bf16-mixed'));
  const [a, b] = [losses(join(dir, 'fp32')), losses(join(dir, 'bf16-mixed'))];
  const first = Math.abs(a[0]! - b[0]!) / a[0]!;
  console.log(`# first loss fp32 ${a[0]!.toFixed(5)}, bf16-mixed ${b[0]!.toFixed(5)} (relative ${first.toExponential(2)}); last ${a[11]!.toFixed(4)} / ${b[11]!.toFixed(4)}`);
  assert.ok(first > 0 && first < 2e-2, `first losses differ by ${first}`);
  assert.ok(b[11]! < 0.5 * b[0]!, 'bf16-mixed learns');
  torch.tidy(() => {
    const w = torch.loadSafetensors(join(dir, 'bf16-mixed', 'checkpoints', 'latest', 'model.safetensors'));
    assert.ok(Object.values(w).every((t) => t.dtype !== 'bfloat16'), 'the checkpoint holds float32 weights');
  });
});

slowTest('train.channelsLast: the default layout\'s run to float rounding, validation and the weight average included', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-cl-'));
  const ds = await tinyDataset(dir);
  const config = (name: string, channelsLast: boolean) => parseTrainConfig({
    out: join(dir, name), data: { dataset: ds, crop: 64, batch: 4 }, model: { arch: 'unet', encoder: 'resnet18', decoderChannels: [64, 32, 32, 16, 16] },
    loss: 'ce', optimizer: { name: 'adam', lr: 0.002 }, eval: { window: 128, batch: 4 },
    train: { iterations: 2, logEvery: 1, evalEvery: 1, checkpointEvery: 2, seed: 3, threads: 2, channelsLast, ema: { decay: 0.9 } },
  }, 'run.yaml');
  const a = await train(config('nchw', false));
  const b = await train(config('nhwc', true));
  const [la, lb] = [losses(join(dir, 'nchw')), losses(join(dir, 'nhwc'))];
  const relative = la.map((l, i) => Math.abs(l - lb[i]!) / l);
  const score = (r: typeof a.lastEval) => r!.metrics.mIoU;
  console.log(`# losses nchw ${la.map((l) => l.toFixed(4)).join(' ')}; nhwc relative differences ${relative.map((d) => d.toExponential(1)).join(' ')}; val mIoU ${score(a.lastEval)} / ${score(b.lastEval)}`);
  // the first step differs by rounding only; the second step's only a little more
  assert.ok(relative[0]! < 1e-5 && Math.max(...relative) < 1e-3, `losses differ by ${relative.join(', ')}`);
  // (on some machines oneDNN's forward gives the same bits in both layouts; the backward differs)
  assert.ok(Math.max(...relative) > 0, 'the layouts run different kernels (an ignored channelsLast would give the same bits)');
  assert.ok(Math.abs(score(a.lastEval) - score(b.lastEval)) < 2e-3, 'the same validation score');
  assert.ok(Math.abs(score(a.lastEvalAveraged) - score(b.lastEvalAveraged)) < 2e-3, 'the same weight-average score');
  torch.tidy(() => {
    const wa = torch.loadSafetensors(join(dir, 'nchw', 'checkpoints', 'latest', 'model.safetensors'));
    const wb = torch.loadSafetensors(join(dir, 'nhwc', 'checkpoints', 'latest', 'model.safetensors'));
    const name = 'encoder.layer1.0.conv1.weight';
    const d = wa[name]!.sub(wb[name]!).abs().max().item() as number;
    // Adam moves a weight by about lr per step whatever its gradient's size: where a gradient is
    // ~0 its sign is rounding's, so two steps may differ by up to 2 · 2 · lr there
    assert.ok(d <= 4 * 0.002, `the same weights after 2 steps to Adam's step size (${d})`);
    assert.ok(wa[name]!.sub(wb[name]!).abs().mean().item() as number < 2e-4, 'and close on average');
  });
});

test('fp16-mixed needs CUDA: refused on CPU with the fix named', () => {
  const base = { out: '/tmp/x', data: { dataset: '/tmp/ds' }, model: { arch: 'unet', encoder: 'resnet18' }, train: { iterations: 1, precision: 'fp16-mixed' } };
  assert.throws(() => parseTrainConfig(base, 'run.yaml'), /^GeosegError: run.yaml: train.precision: fp16-mixed needs a CUDA device \(train.device: cuda\); on CPU use bf16-mixed$/m);
  assert.equal(parseTrainConfig({ ...base, train: { ...base.train, device: 'cuda' } }, 'run.yaml').train.precision, 'fp16-mixed');
});
