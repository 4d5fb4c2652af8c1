// The fine-tuning knobs of a run config: parameter groups (encoder lr multiplier, no decay on
// norms and biases, rules by name), gradient clipping in the trainer, a frozen encoder that
// thaws, and the moving average of the weights, each resuming exactly. (clipGradNorm_'s numbers
// against PyTorch: packages/torch/test/optim.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { parseTrainConfig, type TrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { buildOptimizer, buildScheduler } from '../src/train/build.js';
import { planParamGroups } from '../src/train/param-groups.js';
import { WeightAverage } from '../src/train/ema.js';
import { createModel } from '../src/models/index.js';
import { loadCheckpoint } from '../src/models/checkpoint.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const small = { arch: 'unet', encoder: 'resnet18', decoderChannels: [16, 16, 8, 8, 8] };

function config(dataset: string, out: string, extra: { optimizer?: object; train?: object } = {}): TrainConfig {
  return parseTrainConfig({
    out, data: { dataset, crop: 64, batch: 2 }, model: small,
    optimizer: { name: 'adam', lr: 0.01, weightDecay: 0.01, ...extra.optimizer },
    eval: { window: 128, overlap: 0.25, batch: 4 },
    train: { iterations: 6, logEvery: 1, evalEvery: 0, checkpointEvery: 2, seed: 5, threads: 1, ...extra.train },
  }, 'run.yaml');
}

const bytes = (out: string, file = 'model.safetensors') => readFileSync(join(out, 'checkpoints', 'latest', file));
const logOf = (out: string) => readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('parameter groups: encoder lr multiplier, no decay on norms and biases, rules by name; poly scales every group', () => {
  const model = createModel({ ...small, classes: 3, inChannels: 3 } as never);
  const cfg = parseTrainConfig({
    out: 'o', data: { dataset: 'd' }, model: small, train: { iterations: 100 }, scheduler: { name: 'poly' },
    optimizer: { lr: 0.1, weightDecay: 0.01, encoderLrMult: 0.1, normDecayMult: 0, biasDecayMult: 0, paramGroups: [{ match: 'head.*', lrMult: 10 }] },
  }, 'run.yaml');
  const plans = planParamGroups(model, cfg.optimizer, 'run.yaml');
  const groupOf = (name: string) => plans.find((g) => g.names.includes(name))!;
  // by hand, from the names: encoder conv weights 0.1× lr with decay; encoder BN 0.1× lr, no decay;
  // decoder conv weights 1×, decay; decoder BN no decay; the head (a rule) 10× lr
  assert.deepEqual([groupOf('encoder.conv1.weight').lrMult, groupOf('encoder.conv1.weight').decayMult], [0.1, 1]);
  assert.deepEqual([groupOf('encoder.bn1.weight').lrMult, groupOf('encoder.bn1.bias').decayMult], [0.1, 0]);
  assert.deepEqual([groupOf('decoder.0.conv1.0.weight').lrMult, groupOf('decoder.0.conv1.0.weight').decayMult], [1, 1]);
  assert.equal(groupOf('decoder.0.conv1.1.weight').decayMult, 0, 'a decoder BN weight');
  assert.deepEqual([groupOf('head.weight').lrMult, groupOf('head.bias').lrMult, groupOf('head.bias').decayMult], [10, 10, 0]);
  const named = model.namedParameters();
  assert.equal(plans.reduce((n, g) => n + g.names.length, 0), named.length, 'every parameter in one group');
  const opt = buildOptimizer(plans, cfg.optimizer);
  plans.forEach((g, i) => {
    assert.ok(Math.abs(opt.paramGroups[i].lr - 0.1 * g.lrMult) < 1e-15);
    assert.ok(Math.abs((opt.paramGroups[i] as { weightDecay: number }).weightDecay - 0.01 * g.decayMult) < 1e-15);
  });
  const s = buildScheduler(opt, cfg, 'run.yaml');
  for (let k = 0; k < 37; k++) s.scheduler!.step();
  const factor = (1 - 37 / 100) ** 0.9;
  plans.forEach((g, i) => assert.ok(Math.abs(opt.paramGroups[i].lr - 0.1 * g.lrMult * factor) < 1e-12, `group ${i} follows poly at its own base`));
  const bad = parseTrainConfig({ out: 'o', data: { dataset: 'd' }, train: { iterations: 1 }, optimizer: { paramGroups: [{ match: 'decoder.*' }, { match: 'decoder.0.*', lrMult: 2 }] } }, 'run.yaml');
  assert.throws(() => planParamGroups(model, bad.optimizer, 'run.yaml'), /^GeosegError: run\.yaml: optimizer\.paramGroups\.1\.match: 'decoder\.0\.\*' matches no parameter of the model, or only ones an earlier rule took/);
  opt.dispose();
  model.dispose();
});

test('a weight average follows avg = d·avg + (1 − d)·w for parameters and float buffers and copies integer ones', () => {
  const model = createModel({ ...small, classes: 2, inChannels: 3 } as never);
  const average = createModel({ ...small, classes: 2, inChannels: 3 } as never);
  const ema = new WeightAverage(average, model, 0.75);
  const name = 'encoder.conv1.weight', bn = 'encoder.bn1.running_mean', count = 'encoder.bn1.num_batches_tracked';
  const w = model.stateDict();
  const x0 = w[name].flatten().slice(0, 0, 5).toArray() as number[];
  const expected = [...x0];
  const m0 = w[bn].toArray() as number[];
  const expectedMean = [...m0];
  for (let k = 1; k <= 3; k++) {
    torch.noGrad(() => torch.tidy(() => {
      w[name].add_(0.1 * k);
      w[bn].add_(1);
      w[count].add_(7);
    }));
    ema.update();
    for (let i = 0; i < 5; i++) expected[i] = 0.75 * expected[i] + 0.25 * (x0[i] + 0.1 * (k * (k + 1)) / 2);
    for (let i = 0; i < expectedMean.length; i++) expectedMean[i] = 0.75 * expectedMean[i] + 0.25 * (m0[i] + k);
  }
  const a = average.stateDict();
  (a[name].flatten().slice(0, 0, 5).toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${name}[${i}]: ${v} vs ${expected[i]}`));
  (a[bn].toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - expectedMean[i]) < 1e-6));
  assert.equal(Number(a[count].item()), Number(w[count].item()), 'integer buffers are copied');
  model.dispose();
  average.dispose();
});

slowTest('clipping, freezing and the weight average in a run: what they change, what they leave alone, exact resume', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-recipe-'));
  const ds = await tinyDataset(dir);
  const plain = config(ds, join(dir, 'plain'));
  await train(plain);

  // a clipping threshold no gradient reaches changes nothing, byte for byte; a low one clips every step and is logged
  const loose = config(ds, join(dir, 'loose'), { optimizer: { clipGradNorm: 1e9 } });
  await train(loose);
  assert.ok(bytes(loose.out).equals(bytes(plain.out)));
  const tight = config(ds, join(dir, 'tight'), { optimizer: { clipGradNorm: 0.01 } });
  await train(tight);
  const lines = logOf(tight.out).filter((e) => e.type === 'train');
  assert.ok(lines.every((e) => e.gradNorm > 0.01 && e.clippedSteps === 1), JSON.stringify(lines.map((e) => [e.gradNorm, e.clippedSteps])));
  assert.ok(!bytes(tight.out).equals(bytes(plain.out)));

  // the weight average leaves the raw weights alone and is checkpointed beside them
  const averaged = config(ds, join(dir, 'ema'), { train: { ema: { decay: 0.9 } } });
  const s = await train(averaged);
  assert.ok(bytes(averaged.out).equals(bytes(plain.out)), 'the same raw weights');
  assert.ok(s.lastEvalAveraged, 'the average is validated');
  const evalLine = logOf(averaged.out).find((e) => e.type === 'eval');
  assert.equal(evalLine.ema.mIoU, s.lastEvalAveraged!.metrics.mIoU);
  const ema = loadCheckpoint(join(averaged.out, 'checkpoints', 'latest'), { weights: 'ema' });
  const raw = loadCheckpoint(join(averaged.out, 'checkpoints', 'latest'));
  const diff = torch.tidy(() => ema.model.stateDict()['head.weight'].sub(raw.model.stateDict()['head.weight']).abs().max().item());
  assert.ok(diff > 0, 'the average differs from the last weights');
  ema.model.dispose();
  raw.model.dispose();
  assert.throws(() => loadCheckpoint(join(plain.out, 'checkpoints', 'latest'), { weights: 'ema' }), /has no averaged weights \(ema\.safetensors; the run had no train\.ema\)/);

  // a frozen encoder: after 3 iterations its weights and statistics are the initial ones and the
  // optimizer has no state for it; then it trains, its Adam state counting from its first step
  const frozen = config(ds, join(dir, 'frozen'), { train: { freezeEncoder: { iterations: 3, normStats: true }, ema: { decay: 0.9 } } });
  await train(frozen, { shouldStop: ((n = 0) => () => ++n === 3)() });
  const init = createModelFromSeed(frozen);
  const at3 = loadCheckpoint(join(frozen.out, 'checkpoints', 'latest'), { withOptimizer: true });
  assert.equal(at3.meta.step, 3);
  for (const key of ['encoder.conv1.weight', 'encoder.layer4.1.bn2.weight', 'encoder.bn1.running_mean', 'encoder.bn1.running_var']) {
    assert.equal(torch.tidy(() => at3.model.stateDict()[key].sub(init[key]).abs().max().item()), 0, `${key} unchanged while frozen`);
  }
  assert.ok(torch.tidy(() => at3.model.stateDict()['head.weight'].sub(init['head.weight']).abs().max().item()) > 0, 'the decoder trains');
  const encoderCount = at3.model.encoder.parameters().length;
  const statefulAt3 = Object.keys(at3.meta.optimizer!.state).length;
  assert.equal(statefulAt3, at3.model.parameters().length - encoderCount, 'no optimizer state for the frozen encoder');
  torch.dispose(at3.optimizerTensors);
  at3.model.dispose();
  await train(frozen, { resume: true });
  const at6 = loadCheckpoint(join(frozen.out, 'checkpoints', 'latest'), { withOptimizer: true });
  const steps = Object.values(at6.meta.optimizer!.state).map((st) => (st as { step: number }).step);
  assert.equal(steps.filter((n) => n === 3).length, encoderCount, 'the encoder\'s Adam state starts at its first step (iteration 4)');
  assert.equal(steps.filter((n) => n === 6).length, at6.model.parameters().length - encoderCount);
  torch.dispose(at6.optimizerTensors);
  at6.model.dispose();
  // the same run uninterrupted: the same weights and average, byte for byte
  const straight = config(ds, join(dir, 'frozen-straight'), { train: { freezeEncoder: { iterations: 3, normStats: true }, ema: { decay: 0.9 } } });
  await train(straight);
  assert.ok(bytes(frozen.out).equals(bytes(straight.out)));
  assert.ok(bytes(frozen.out, 'ema.safetensors').equals(bytes(straight.out, 'ema.safetensors')));
  for (const t of Object.values(init)) t.dispose();
});

/** The run's initial weights (the trainer seeds libtorch with train.seed before creating the model). */
function createModelFromSeed(cfg: TrainConfig): Record<string, torch.Tensor> {
  torch.manualSeed(cfg.train.seed);
  const m = createModel({ ...small, classes: 2, inChannels: 3 } as never);
  const copy = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, torch.keep(v.clone())]));
  m.dispose();
  return copy;
}
