// The context architectures of issue 17 and the pyramid ones of issue 18 end to end: each trains
// from a run config with its auxiliary outputs in the objective (FactSeg and FarSeg with their
// own default losses: cp with small object mining, annealing focal), for those with state beyond
// their weights a run stopped after 2 iterations and resumed ends with the weights of an
// uninterrupted 4-iteration run byte for byte, and the checkpoint predicts a scene
// through the shared window path (every pixel a class).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { predict } from '../src/infer/predict.js';
import { Raster } from '../src/raster/index.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const MODELS: Record<string, string> = {
  bisenet: '{ arch: bisenet, encoder: resnet18, psp: { bins: [1, 2, 3] }, fusion: split }',
  danet: '{ arch: danet, encoder: resnet18 }',
  ccnet: '{ arch: ccnet, encoder: resnet18 }',
  nonlocal: '{ arch: nonlocal, encoder: resnet18 }',
  ocrnet: '{ arch: ocrnet, encoder: resnet18 }',
  hrnet_ocr: '{ arch: hrnet_ocr, encoder: hrnetv2_w18 }',
  hrnet_pam: '{ arch: hrnet, encoder: hrnetv2_w18, pam: true }',
  fpn: '{ arch: fpn, encoder: resnet18 }',
  farseg: '{ arch: farseg, encoder: resnet18 }',
  factseg: '{ arch: factseg, encoder: resnet18 }',
};
/**
 * Architectures whose stopped-and-resumed run is compared with an uninterrupted one: those with
 * state beyond the weights' (FarSeg's annealing follows training progress, FactSeg's own loss,
 * BiSeNet's auxiliary heads). Exact resume in general is train-resume.test.ts's; the others train and predict.
 */
const RESUMED = new Set(['bisenet', 'farseg', 'factseg']);
/** Architectures trained with their own default loss (the config gives none). */
const OWN_LOSS = new Set(['farseg', 'factseg']);

const config = (ds: string, out: string, model: string, loss: boolean, iterations: number) => `out: ${out}
data: { dataset: ${ds}, crop: 64, batch: 2 }
model: ${model}
${loss ? 'loss: ce' : ''}
optimizer: { name: sgd, lr: 0.01, momentum: 0.9 }
scheduler: { name: poly }
eval: { window: 128, overlap: 0.25, batch: 2 }
train: { iterations: ${iterations}, logEvery: 1, evalEvery: 0, checkpointEvery: 2, seed: 5, threads: 1 }
`;

slowTest('context and pyramid architectures train with their auxiliary outputs, resume exactly (those with more state than weights), and predict a scene', {}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-context-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ds = await tinyDataset(dir);
  for (const [name, model] of Object.entries(MODELS)) await t.test(name, async (st) => {
    const runs = ['full', 'stopped'].map((r) => {
      writeFileSync(join(dir, `${name}-${r}.yaml`), config(ds, join(dir, `${name}-${r}`), model, !OWN_LOSS.has(name), RESUMED.has(name) ? 4 : 2));
      return readTrainConfig(join(dir, `${name}-${r}.yaml`));
    });
    const full = await train(runs[0]);
    const iterations = RESUMED.has(name) ? 4 : 2;
    assert.equal(full.steps, iterations, name);
    if (RESUMED.has(name)) {
      let steps = 0;
      const stopped = await train(runs[1], { shouldStop: () => ++steps === 2 });
      assert.ok(stopped.stoppedEarly && stopped.steps === 2, `${name}: stopped after 2 iterations`);
      await train(runs[1], { resume: true });
      const weights = (run: string) => readFileSync(join(dir, run, 'checkpoints', 'latest', 'model.safetensors'));
      assert.ok(weights(`${name}-full`).equals(weights(`${name}-stopped`)), `${name}: the resumed run's weights equal the uninterrupted run's`);
    }
    const losses = readFileSync(join(dir, `${name}-full`, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'train').map((e) => e.loss);
    assert.ok(losses.length === iterations && losses.every(Number.isFinite), `${name}: finite losses ${losses}`);

    const output = join(dir, `${name}.tif`);
    await predict({ checkpoint: join(dir, `${name}-full`), input: join(dir, 'images', 'c.tif'), output, window: 128, overlap: 0, batch: 2 });
    const r = await Raster.open(output);
    try {
      const classes = (await r.read({ x: 0, y: 0, width: 256, height: 256 })).data() as Uint8Array;
      assert.ok(classes.every((c) => c <= 1), `${name}: every pixel has a class (no nodata)`);
    } finally {
      r.close();
    }
    st.diagnostic(`${name}: losses ${losses.map((l) => l.toFixed(3)).join(' ')}, ${full.trainSeconds.toFixed(1)} s`);
  });
});
