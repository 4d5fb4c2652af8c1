// Training-step equivalence (issue 5's pipeline check, without seed noise): geoseg's training
// step (its loader, augmentation, UNet-ResNet18, loss and Adam, as the trainer calls them) and
// bench/train_equivalence.py (the same step in Python PyTorch) start from the same weights and
// see the same batches; their losses should agree step by step and their weights at the end.
//
//   node --import tsx bench/run.ts equivalence      (EQUIV_STEPS=30)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { readDataset } from '../packages/geoseg/src/data/dataset.js';
import { TileLoader, defaultScale, mix32 } from '../packages/geoseg/src/data/loader.js';
import { createLoss } from '../packages/geoseg/src/losses/index.js';
import { createModel } from '../packages/geoseg/src/models/index.js';
import { buildOptimizer } from '../packages/geoseg/src/train/build.js';
import { readTrainConfig } from '../packages/geoseg/src/train/config.js';
import { modelConfigOf } from '../packages/geoseg/src/train/trainer.js';
import { dubaiDataset } from './dubai.js';
import { runPython } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = join(here, '..', '.bench-out', 'equivalence');

/** geoseg's UNet parameter names → bench/ref_models.py's (decoder blocks are Sequentials there). */
function refName(name: string): string {
  return name.replace(/^decoder\.(\d+)\.conv([12])\./, (_, i, c) => `decoder.${i}.${Number(c) - 1}.`);
}

export async function trainEquivalence(threads: number): Promise<Record<string, unknown>> {
  const steps = Number(process.env.EQUIV_STEPS ?? 30);
  torch.setNumThreads(threads);
  mkdirSync(work, { recursive: true });
  const cfg = readTrainConfig(join(here, '..', 'configs', 'dubai-unet-r18.yaml'));
  cfg.data.dataset = dubaiDataset();
  const ds = readDataset(cfg.data.dataset);
  const val = new Set((ds.split as { val: number[] }).val);
  const loader = new TileLoader(cfg.data.dataset, ds, {
    tiles: ds.tiles.map((t) => t.id).filter((id) => !val.has(id)), crop: cfg.data.crop, batch: cfg.data.batch,
    seed: cfg.train.seed, augmentation: cfg.augmentation, scale: defaultScale(ds),
  });
  torch.manualSeed(cfg.train.seed);
  const model = createModel(modelConfigOf(cfg, ds));
  const init: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) init[refName(k)] = v;
  torch.saveSafetensors(join(work, 'init.safetensors'), init);

  // The batches exactly as the trainer makes them (torch reseeded per step before assembling).
  const batches: Record<string, Tensor> = {};
  for (let k = 1; k <= steps; k++) {
    const files = await loader.fetch(k);
    torch.manualSeed(mix32(cfg.train.seed, k, 1));
    const b = loader.assemble(k, files);
    batches[`images.${k}`] = b.images.keep();
    batches[`masks.${k}`] = b.masks.keep();
  }
  torch.saveSafetensors(join(work, 'batches.safetensors'), batches);

  const optimizer = buildOptimizer(model.parameters(), cfg.optimizer);
  const loss = createLoss(cfg.loss, { ignoreIndex: ds.ignoreIndex });
  model.train();
  const losses: number[] = [];
  for (let k = 1; k <= steps; k++) {
    losses.push(torch.tidy(() => {
      const total = loss(model.forward(batches[`images.${k}`]), batches[`masks.${k}`], { progress: k / steps }).total;
      optimizer.zeroGrad();
      total.backward();
      optimizer.step();
      return total.item();
    }));
  }
  const after: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) after[refName(k)] = v;
  torch.saveSafetensors(join(work, 'after.safetensors'), after);
  writeFileSync(join(work, 'losses.json'), JSON.stringify(losses));
  torch.dispose(Object.values(batches));
  loader.dispose();

  const py = runPython('train_equivalence.py', [work, String(steps), String(ds.ignoreIndex), String(threads)]);
  const rel = losses.map((l, i) => Math.abs(l - py.losses[i]) / Math.abs(py.losses[i]));
  console.log('step  geoseg loss  python loss  rel. diff');
  losses.forEach((l, i) => console.log(`${String(i + 1).padStart(4)}  ${l.toFixed(6).padStart(11)}  ${py.losses[i].toFixed(6).padStart(11)}  ${rel[i].toExponential(2)}`));
  console.log(`weights after ${steps} steps: max |Δ| / max |w| over parameters ${py.maxRelWeightDiff.toExponential(2)} (${py.worst})`);
  return { steps, losses, pythonLosses: py.losses, maxRelLossDiff: Math.max(...rel), firstRelLossDiff: rel[0], maxRelWeightDiff: py.maxRelWeightDiff, worstParameter: py.worst };
}
