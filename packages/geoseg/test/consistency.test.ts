// Multi-view consistency and view-disagreement mining (issue 21) against closed forms: a "model"
// whose logits are a horizontal ramp whatever the input, so its left-right view mapped back is
// the reversed ramp and both terms can be written out by hand; an equivariant one gives 0; and
// a run with `consistency` in its config trains and resumes like any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { consistencyTerms } from '../src/train/consistency.js';
import { readTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const W = 8, H = 2, N = 1;
const ramp = (j: number) => 0.7 * (j - 2.6); // logit of class 0; class 1's is 0
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const rampModel = (x: torch.Tensor) => {
  const row = torch.tensor(Array.from({ length: W }, (_, j) => ramp(j)));
  const class0 = row.view([1, 1, 1, W]).expand([x.shape[0], 1, H, W]);
  return { out: torch.cat([class0, torch.zerosLike(class0)], 1) };
};
const softmax = (o: Record<string, torch.Tensor>) => o.out.softmax(1);

test('consistency with the lr view: the MSE to the views\' mean, by hand', () => {
  torch.tidy(() => {
    const images = torch.rand([N, 3, H, W]);
    const target = torch.zeros([N, H, W], { dtype: 'int64' });
    const base = rampModel(images);
    const { consistency, mining } = consistencyTerms(images, base, target, 255, { weight: 2, views: ['lr'], mining: 0 }, rampModel, softmax);
    // views: p0 = σ(r_j), p1 = σ(r_{W−1−j}); each deviates from the mean by half their difference,
    // in both classes: MSE = mean_j ((σ_j − σ_{W−1−j}) / 2)²
    let sum = 0;
    for (let j = 0; j < W; j++) sum += ((sigmoid(ramp(j)) - sigmoid(ramp(W - 1 - j))) / 2) ** 2;
    const expected = 2 * (sum / W);
    assert.ok(Math.abs(consistency.item() - expected) < 1e-6, `${consistency.item()} vs ${expected}`);
    assert.equal(mining, null);
  });
});

test('view-disagreement mining: extra −log p on the labelled pixels whose class flips between views, by hand', () => {
  torch.tidy(() => {
    const images = torch.rand([N, 3, H, W]);
    // labels: class 0 everywhere but an ignored pixel in the first row's column 1 (a disagreeing column)
    const target = torch.zeros([N, H, W], { dtype: 'int64' });
    target.select(1, 0).select(1, 1).fill_(255);
    const { mining } = consistencyTerms(images, rampModel(images), target, 255, { weight: 0, views: ['lr'], mining: 3 }, rampModel, softmax);
    // class 0 wins where r_j > 0: columns 3..7 in the base view, columns 0..4 in the mapped-back
    // lr view; they disagree at columns 0, 1, 2, 5, 6, 7
    let sum = 0, labelled = 0;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      if (i === 0 && j === 1) continue;
      labelled++;
      if ((ramp(j) > 0) !== (ramp(W - 1 - j) > 0)) sum += -Math.log(sigmoid(ramp(j)));
    }
    const expected = 3 * sum / labelled;
    assert.ok(mining && Math.abs(mining.item() - expected) < 1e-5, `${mining?.item()} vs ${expected}`);
  });
});

test('a per-pixel (equivariant) model is consistent under every D4 view: 0, and nothing to mine', () => {
  torch.tidy(() => {
    torch.manualSeed(2);
    const weight = torch.randn([3, 3, 1, 1]);
    const model = (x: torch.Tensor) => ({ out: torch.conv2d(x, weight) });
    const images = torch.rand([2, 3, 16, 16]);
    const target = torch.randint(0, 3, [2, 16, 16]);
    const { consistency, mining } = consistencyTerms(images, model(images), target, 255, { weight: 1, views: 'd4', mining: 1 }, model, softmax);
    assert.ok(consistency.item() < 1e-12, String(consistency.item()));
    assert.ok(mining !== null && mining.item() === 0);
  });
});

test('a run with consistency trains (the term raises the loss), resumes exactly, and refuses unknown views', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-consistency-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ds = await tinyDataset(dir);
  const config = (name: string, consistency: string) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `out: ${join(dir, name)}
data: { dataset: ${ds}, crop: 64, batch: 2 }
model: { arch: unet, encoder: resnet18, decoderChannels: [16, 16, 8, 8, 8] }
optimizer: { name: sgd, lr: 0.01 }
${consistency}
eval: { window: 128, batch: 2 }
train: { iterations: 4, logEvery: 1, evalEvery: 0, checkpointEvery: 2, seed: 3, threads: 1 }
`);
    return file;
  };
  const losses = (name: string) => readFileSync(join(dir, name, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'train').map((e) => e.loss);
  await train(readTrainConfig(config('plain', '')));
  const withViews = 'consistency: { weight: 1, views: flip, mining: 1 }';
  await train(readTrainConfig(config('views', withViews)));
  // the same seed and batches: the first loss is the plain one plus the (positive) terms
  const [plain, views] = [losses('plain'), losses('views')];
  assert.ok(views.every(Number.isFinite) && views.length === 4);
  assert.ok(views[0] > plain[0], `first loss with consistency ${views[0]} should exceed the plain ${plain[0]}`);
  let steps = 0;
  const stoppedCfg = readTrainConfig(config('views-stopped', withViews));
  await train(stoppedCfg, { shouldStop: () => ++steps === 2 });
  await train(stoppedCfg, { resume: true });
  const weights = (run: string) => readFileSync(join(dir, run, 'checkpoints', 'latest', 'model.safetensors'));
  assert.ok(weights('views').equals(weights('views-stopped')), 'resumed run = uninterrupted run');
  assert.throws(() => readTrainConfig(config('bad', 'consistency: { views: [lr, spin] }')), /consistency\.views/);
});
