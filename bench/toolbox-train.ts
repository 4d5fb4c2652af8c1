// The practitioner's toolbox on Dubai, training side (issue 21): configs/dubai-best.yaml changed
// in one thing at a time, each trained for the same number of iterations (TOOLBOX_ITERATIONS,
// default 511: what dubai-best ran in its 20 minutes here, so plain-cost variants get the same
// compute however busy the machine is), seed TOOLBOX_SEED (0), then the final tile_8 evaluation.
//   - plain        dubai-best itself
//   - augment      on a copy of data/dubai after `geoseg augment` (offline class-balanced copies)
//   - smooth05/10  ce with labelSmoothing 0.05 / 0.1 (+ 0.5 dice)
//   - noisy        noisy (cosine-decayed noise masking, SegHZ 2.2) in place of ce (+ 0.5 dice)
//   - consistency  consistency { weight 1, views [lr] }: one more forward/backward per step (its
//                  wall time is reported; at equal minutes it would run about half the iterations)
//   - finetune-plain / finetune-adversarial: as many iterations again (TOOLBOX_FINETUNE_ITERATIONS
//                  to change it) from the checkpoint of the variant TOOLBOX_INIT (plain), lr 2e-4
//                  constant, without and with adversarial { weight 0.01, pretrain 50 } (Hung et al.'s weight)
//
//   node --import tsx bench/run.ts toolbox-train   (TOOLBOX_VARIANTS=plain,augment,...: a subset)
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { dubaiDataset, geoseg } from './dubai.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

const PLAIN_LOSS = [{ name: 'ce', weight: 1 }, { name: 'dice', weight: 0.5 }];
/** variant → how it changes the recipe. */
const VARIANTS: Record<string, (cfg: any, augmented: () => string) => void> = {
  plain: () => {},
  augment: (cfg, augmented) => { cfg.data.dataset = augmented(); },
  smooth05: (cfg) => { cfg.loss = [{ ...PLAIN_LOSS[0], labelSmoothing: 0.05 }, PLAIN_LOSS[1]]; },
  smooth10: (cfg) => { cfg.loss = [{ ...PLAIN_LOSS[0], labelSmoothing: 0.1 }, PLAIN_LOSS[1]]; },
  noisy: (cfg) => { cfg.loss = [{ name: 'noisy', weight: 1 }, PLAIN_LOSS[1]]; },
  consistency: (cfg) => { cfg.consistency = { weight: 1, views: ['lr'] }; },
  'finetune-plain': (cfg) => finetune(cfg, null),
  'finetune-adversarial': (cfg) => finetune(cfg, { weight: 0.01, pretrain: 50 }),
};

/** A short fine-tune of an earlier variant's checkpoint (constant lr, no warmup). */
function finetune(cfg: any, adversarial: unknown): void {
  cfg.model.init = join(repo, 'runs', `toolbox-${process.env.TOOLBOX_INIT ?? 'plain'}`);
  cfg.optimizer.lr = 2e-4;
  cfg.scheduler = { name: 'none' };
  if (process.env.TOOLBOX_FINETUNE_ITERATIONS) cfg.train.iterations = Number(process.env.TOOLBOX_FINETUNE_ITERATIONS);
  if (adversarial) cfg.adversarial = adversarial;
}

/** data/dubai-augmented: data/dubai copied, then `geoseg augment` with its defaults. */
function augmentedDubai(source: string): { folder: string; record: unknown } {
  const folder = join(repo, 'data', 'dubai-augmented');
  rmSync(folder, { recursive: true, force: true });
  cpSync(source, folder, { recursive: true });
  const record = geoseg(['augment', folder]);
  return { folder, record };
}

export async function toolboxTrainBench(): Promise<Record<string, unknown>> {
  const iterations = Number(process.env.TOOLBOX_ITERATIONS ?? 511);
  const seed = Number(process.env.TOOLBOX_SEED ?? 0);
  const variants = (process.env.TOOLBOX_VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',').filter(Boolean);
  for (const v of variants) if (!VARIANTS[v]) throw new Error(`TOOLBOX_VARIANTS: unknown variant '${v}' (${Object.keys(VARIANTS).join(', ')})`);
  const dataset = dubaiDataset();
  const base = parse(readFileSync(join(repo, 'configs', 'dubai-best.yaml'), 'utf8'));
  const file = join(here, `results-toolbox-train-${iterations}it-seed${seed}.json`);
  const results: Record<string, any> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { iterations, seed, recipe: 'configs/dubai-best.yaml', runs: {} };
  let augmented: string | null = null;
  for (const name of variants) {
    const cfg = structuredClone(base);
    cfg.data.dataset = dataset;
    cfg.train = { ...cfg.train, iterations, seed };
    delete cfg.train.minutes;
    VARIANTS[name](cfg, () => {
      if (!augmented) {
        const a = augmentedDubai(dataset);
        augmented = a.folder;
        results.augmentation = a.record;
      }
      return augmented;
    });
    cfg.train = { ...cfg.train, iterations, seed };
    delete cfg.train.minutes;
    cfg.out = join(repo, 'runs', `toolbox-${name}`);
    const config = join(repo, 'runs', `toolbox-${name}.yaml`);
    mkdirSync(dirname(config), { recursive: true });
    writeFileSync(config, stringify(cfg));
    console.log(`toolbox-train: ${name}, ${iterations} iterations …`);
    const s = geoseg(['train', '--config', config, '--overwrite']);
    results.runs[name] = { iterations: s.steps, trainSeconds: s.trainSeconds, mIoU: s.lastEval.metrics.mIoU, iou: s.lastEval.metrics.iou, classes: s.classes };
    console.log(`  mIoU ${(100 * s.lastEval.metrics.mIoU).toFixed(2)} in ${(s.trainSeconds / 60).toFixed(1)} min`);
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  }
  const names: string[] = Object.values(results.runs as Record<string, any>)[0].classes;
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : '—');
  const done = Object.keys(results.runs);
  console.log(['variant'.padEnd(12), ...names.map((n) => n.slice(0, 10).padStart(11)), 'mIoU'.padStart(8), 'minutes'.padStart(8)].join(''));
  for (const v of done) {
    const r = results.runs[v];
    console.log([v.padEnd(12), ...r.iou.map((x: number) => pct(x).padStart(11)), pct(r.mIoU).padStart(8), (r.trainSeconds / 60).toFixed(1).padStart(8)].join(''));
  }
  return results;
}
