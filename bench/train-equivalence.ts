// Training equivalence (issue 5's pipeline check, without seed noise): `geoseg train` runs the
// plain Dubai recipe (configs/dubai-unet-r18.yaml) for a fixed number of iterations and evaluates
// tile 8; bench/train_equivalence.py (Python PyTorch, bench/ref_models.py's UNet) starts from the
// same initial weights, trains on the same batches (re-drawn here from geoseg's loader exactly as
// the trainer draws them), then evaluates with its own whole-scene code (bench/dubai_ref.py).
// Compared: the loss at every step, the final weights, and the tile-8 IoUs. Then the one part
// the Python run does not share, its own crop sampling, is checked: bench/loader_check.py compares
// the class mix of geoseg's batches and of the Python recipe's with the exact expectation.
//
//   node --import tsx bench/run.ts equivalence      (EQUIV_STEPS=30; 300 ≈ the 20-minute budget)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { readDataset } from '../packages/geoseg/src/data/dataset.js';
import { TileLoader, defaultScale, mix32 } from '../packages/geoseg/src/data/loader.js';
import { createModel } from '../packages/geoseg/src/models/index.js';
import { readTrainConfig } from '../packages/geoseg/src/train/config.js';
import { modelConfigOf } from '../packages/geoseg/src/train/trainer.js';
import { readLog } from '../packages/geoseg/src/server/runs.js';
import { dubaiDataset } from './dubai.js';
import { runPython } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const work = join(repo, '.bench-out', 'equivalence');

/** geoseg's UNet parameter names → bench/ref_models.py's (decoder blocks are Sequentials there). */
function refName(name: string): string {
  return name.replace(/^decoder\.(\d+)\.conv([12])\./, (_, i, c) => `decoder.${i}.${Number(c) - 1}.`);
}

function saveRenamed(file: string, tensors: Record<string, Tensor>): void {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(tensors)) out[refName(k)] = v;
  torch.saveSafetensors(file, out);
}

export async function trainEquivalence(threads: number): Promise<Record<string, unknown>> {
  const steps = Number(process.env.EQUIV_STEPS ?? 30);
  torch.setNumThreads(threads);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const dataset = dubaiDataset();

  // The run as a user would start it: the shipped recipe, iterations instead of minutes.
  const recipe = parse(readFileSync(join(repo, 'configs', 'dubai-unet-r18.yaml'), 'utf8'));
  recipe.out = join(work, 'run');
  recipe.data.dataset = dataset;
  delete recipe.train.minutes;
  Object.assign(recipe.train, { iterations: steps, logEvery: 1, checkpointEvery: steps, threads });
  const configFile = join(work, 'run.yaml');
  writeFileSync(configFile, stringify(recipe));

  // The same initial weights and batches, made here the way the trainer makes them.
  const cfg = readTrainConfig(configFile);
  const ds = readDataset(dataset);
  const val = new Set((ds.split as { val: number[] }).val);
  const loader = new TileLoader(dataset, ds, {
    tiles: ds.tiles.map((t) => t.id).filter((id) => !val.has(id)), crop: cfg.data.crop, batch: cfg.data.batch,
    seed: cfg.train.seed, augmentation: cfg.augmentation, scale: defaultScale(ds),
  });
  torch.manualSeed(cfg.train.seed);
  const model = createModel(modelConfigOf(cfg, ds));
  saveRenamed(join(work, 'init.safetensors'), model.stateDict());
  for (let k = 1; k <= steps; k++) {
    const files = await loader.fetch(k);
    torch.manualSeed(mix32(cfg.train.seed, k, 1));
    torch.tidy(() => {
      const b = loader.assemble(k, files);
      torch.saveSafetensors(join(work, `batch-${k}.safetensors`), { images: b.images, masks: b.masks });
    });
  }
  loader.dispose();

  console.log(`geoseg train: ${steps} iterations of configs/dubai-unet-r18.yaml, then tile-8 evaluation…`);
  const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
  const r = spawnSync(process.execPath, [cli, 'train', '--config', configFile, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`geoseg train failed (${r.status})`);
  const summary = JSON.parse(r.stdout);
  const losses: number[] = readLog(join(recipe.out, 'log.jsonl')).filter((e) => e.type === 'train').map((e) => e.loss);
  const final = torch.loadSafetensors(join(recipe.out, 'checkpoints', 'latest', 'model.safetensors'));
  saveRenamed(join(work, 'after.safetensors'), final);
  torch.dispose(Object.values(final));

  console.log(`python: ${steps} iterations on the same batches from the same weights, then its own evaluation…`);
  const py = runPython('train_equivalence.py', [work, String(steps), dataset, String(threads)]);
  const rel = losses.map((l, i) => Math.abs(l - py.losses[i]) / Math.abs(py.losses[i]));
  console.log('step  geoseg loss  python loss  rel. diff');
  losses.forEach((l, i) => {
    if (i < 5 || (i + 1) % 25 === 0 || i === steps - 1) console.log(`${String(i + 1).padStart(4)}  ${l.toFixed(6).padStart(11)}  ${py.losses[i].toFixed(6).padStart(11)}  ${rel[i].toExponential(2)}`);
  });
  console.log(`weights after ${steps} steps: max |Δ| / max |w| over parameters ${py.maxRelWeightDiff.toExponential(2)} (${py.worst})`);
  const geo = summary.lastEval.metrics;
  const pct = (x: number) => (100 * x).toFixed(3).padStart(8);
  console.log(`tile-8 IoU %   ${'geoseg'.padStart(8)}  ${'python'.padStart(8)}`);
  (summary.classes as string[]).forEach((c, i) => console.log(`${c.padEnd(14)} ${pct(geo.iou[i])}  ${pct(py.eval.iou[i])}`));
  console.log(`${'mIoU'.padEnd(14)} ${pct(geo.mIoU)}  ${pct(py.eval.mIoU)}`);

  const mix = runPython('loader_check.py', [work, String(steps), dataset, String(cfg.train.seed)]);
  console.log(`class share of ${mix.geoseg.crops} crops, %   expected   geoseg (z)      python (z)`);
  (mix.classes as string[]).forEach((c, i) => console.log(`${c.padEnd(30)} ${(100 * mix.expected[i]).toFixed(2).padStart(8)}  ` +
    `${(100 * mix.geoseg.share[i]).toFixed(2).padStart(7)} (${mix.geoseg.z[i].toFixed(2).padStart(5)})  ${(100 * mix.python.share[i]).toFixed(2).padStart(7)} (${mix.python.z[i].toFixed(2).padStart(5)})`));
  return {
    steps, losses, pythonLosses: py.losses, maxRelLossDiff: Math.max(...rel), maxRelWeightDiff: py.maxRelWeightDiff, worstParameter: py.worst,
    trainSeconds: summary.trainSeconds, classes: summary.classes, geoseg: { mIoU: geo.mIoU, iou: geo.iou, pixelAccuracy: geo.pixelAccuracy }, python: py.eval, classMix: mix,
  };
}
