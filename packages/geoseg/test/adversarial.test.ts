// Adversarial fine-tuning: the discriminator, its "fool D" term and its step against an
// independent PyTorch implementation (test/fixtures/adversarial_ref.py); fine-tuning from a
// checkpoint (model.init) with the segmentation frozen while the discriminator pre-trains; an
// interrupted adversarial run resumed to exactly the uninterrupted result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { AdversarialTraining, Discriminator } from '../src/train/adversarial.js';
import { readTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const python = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);

test('discriminator: Hung et al.\'s shape, parameter count in closed form, a [B, 1, H/32, W/32] map', () => {
  const d = new Discriminator(5 + 6, 64);
  const c = [11, 64, 128, 256, 512, 1];
  const expected = c.slice(0, 5).reduce((n, cin, i) => n + cin * c[i + 1] * 16 + c[i + 1], 0);
  assert.equal(d.numParameters(), expected);
  torch.tidy(() => assert.deepEqual(d.forward(torch.zeros([2, 11, 64, 96])).shape, [2, 1, 2, 3]));
  d.dispose();
});

test('adversarial step equals an independent PyTorch implementation (fool-D term, its gradient, D\'s loss and Adam step)', { skip: python ? false : 'no python3 with torch' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-adv-'));
  try {
    torch.manualSeed(4);
    const [B, bands, C, H] = [2, 3, 3, 64];
    const a = new AdversarialTraining({ weight: 0.3, pretrain: 0, lr: 1e-4, channels: 8 }, bands, C, 255);
    const images = torch.randn([B, bands, H, H]);
    const probabilities = torch.softmax(torch.randn([B, C, H, H]).mul(2), 1).detach().requiresGrad_(true);
    const masks = torch.randint(0, C, [B, H, H]).maskedFill(torch.rand([B, H, H]).lt(0.2), 255);
    const file = join(dir, 'tensors.safetensors');
    torch.saveSafetensors(file, { ...a.discriminator.stateDict(), images, probabilities: probabilities.detach(), masks });
    const py = spawnSync(python!, [join(here, 'fixtures', 'adversarial_ref.py'), file, '255', String(C), '0.3'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(py.status, 0, py.stderr);
    const ref = JSON.parse(py.stdout);

    const g = a.generatorTerm(images, probabilities);
    g.backward();
    assert.ok(Math.abs(g.item() - ref.generator) < 1e-6, `generator ${g.item()} vs ${ref.generator}`);
    const grad = probabilities.grad!.flatten().toArray() as number[];
    const gradErr = Math.max(...grad.map((v, i) => Math.abs(v - ref.gradP[i])));
    const gradMax = Math.max(...ref.gradP.map(Math.abs));
    assert.ok(gradMax > 0 && gradErr < 1e-4 * gradMax, `gradient error ${gradErr} of ${gradMax}`);
    a.dropGradients();
    const before = Object.fromEntries(Object.entries(a.discriminator.stateDict()).map(([k, v]) => [k, v.flatten().toArray() as number[]]));
    const loss = a.step(images, probabilities, masks);
    assert.ok(Math.abs(loss - ref.discriminatorLoss) < 1e-6, `D loss ${loss} vs ${ref.discriminatorLoss}`);
    // Adam's first moments after one step are (1 − β1) · the gradients: a check of D's gradients themselves
    const state = a.optimizer.stateDict().state;
    Object.keys(a.discriminator.stateDict()).forEach((name, i) => {
      const m1 = (state[i].exp_avg as torch.Tensor).flatten().toArray() as number[];
      const ref1: number[] = ref.expAvg[name];
      const scale = Math.max(...ref1.map(Math.abs));
      const err = Math.max(...m1.map((x, j) => Math.abs(x - ref1[j])));
      assert.ok(scale > 0 && err < 1e-4 * scale, `${name}: first moment error ${err} of ${scale}`);
    });
    for (const [name, t] of Object.entries(a.discriminator.stateDict())) {
      // the step itself (about lr = 1e-4 per weight under Adam), not just the weights
      const v = t.flatten().toArray() as number[];
      const err = Math.max(...v.map((x, i) => Math.abs((x - before[name][i]) - (ref.after[name][i] - before[name][i]))));
      const size = Math.max(...v.map((x, i) => Math.abs(ref.after[name][i] - before[name][i])));
      assert.ok(size > 5e-5 && err < 1e-3 * size, `${name}: step error ${err} of ${size}`);
    }
    torch.dispose([images, probabilities, masks, g]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

slowTest('adversarial fine-tuning from a checkpoint: frozen while D pre-trains, then both learn; exact resume; model.init must match', {}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-adv-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ds = await tinyDataset(dir);
  const UNET = 'arch: unet, encoder: resnet18, decoderChannels: [16, 16, 8, 8, 8]';
  const config = (name: string, extra: string, iterations = 4, model = UNET) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `out: ${join(dir, name)}
data: { dataset: ${ds}, crop: 64, batch: 2 }
model: { ${model} }
optimizer: { name: adam, lr: 0.001 }
${extra}
eval: { window: 128, batch: 2 }
train: { iterations: ${iterations}, logEvery: 1, evalEvery: 0, checkpointEvery: 1, seed: 3, threads: 1 }
`);
    return file;
  };
  const file = (run: string, f: string) => readFileSync(join(dir, run, 'checkpoints', 'latest', f));
  await train(readTrainConfig(config('base', '', 3)));
  const tune = `adversarial: { weight: 0.05, pretrain: 2, channels: 8 }`;
  const init = (run: string) => config(run, tune, 4, `${UNET}, init: ${join(dir, 'base')}`);
  // after the two pretraining iterations the model is the base checkpoint's, bit for bit
  const base = torch.loadSafetensors(join(dir, 'base', 'checkpoints', 'latest', 'model.safetensors'));
  const pretrained = readTrainConfig(config('pretrained', tune, 2, `${UNET}, init: ${join(dir, 'base')}`));
  await train(pretrained);
  const frozen = torch.loadSafetensors(join(dir, 'pretrained', 'checkpoints', 'latest', 'model.safetensors'));
  for (const [name, v] of Object.entries(base)) assert.ok(v.equal(frozen[name]), `${name} changed while the discriminator pre-trained`);
  // stopped in the adversarial phase (step 3: both optimizers live), then resumed
  let calls = 0;
  const stopped = readTrainConfig(init('tuned-stopped'));
  const s = await train(stopped, { shouldStop: () => ++calls === 3 });
  assert.equal(s.steps, 3);
  await train(stopped, { resume: true });
  await train(readTrainConfig(init('tuned')));
  assert.ok(file('tuned', 'model.safetensors').equals(file('tuned-stopped', 'model.safetensors')), 'resumed = uninterrupted (model)');
  assert.ok(file('tuned', 'discriminator.safetensors').equals(file('tuned-stopped', 'discriminator.safetensors')), 'resumed = uninterrupted (discriminator)');
  const tuned = torch.loadSafetensors(join(dir, 'tuned', 'checkpoints', 'latest', 'model.safetensors'));
  assert.ok(Object.entries(base).some(([name, v]) => v.isFloatingPoint() && !v.equal(tuned[name])), 'the model learns after pretraining');
  const log = readFileSync(join(dir, 'tuned', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'train');
  assert.equal(log.length, 4);
  assert.ok(log.every((e) => Number.isFinite(e.discriminatorLoss) && e.discriminatorLoss > 0));
  // model.init of another model: one line naming the field, before anything is written
  await assert.rejects(train(readTrainConfig(config('mismatch', '', 1, `arch: unet, encoder: resnet18, decoderChannels: [32, 16, 8, 8, 8], init: ${join(dir, 'base')}`))), /model\.init: .*base.* not this run's/);
  assert.ok(!existsSync(join(dir, 'mismatch')), 'nothing written');
  // pretraining an architecture with training-only outputs (PSPNet's aux head) works too
  const psp = await train(readTrainConfig(config('psp', tune, 3, 'arch: pspnet, encoder: resnet18')));
  assert.equal(psp.steps, 3);
});
