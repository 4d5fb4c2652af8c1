// The architecture comparison on Dubai (issue 17), like the SegHZ report's tables: every
// architecture trained with configs/dubai-best.yaml's recipe (data, loss, optimizer, schedule,
// augmentation; no pretrained weights), only the model changed, for the same CPU minutes, each
// schedule fitted to them; then the tile_8 scenes evaluated whole.
//
//   node --import tsx bench/run.ts architectures   (ARCH_MINUTES=7, ARCH_SEED=0, ARCH_ONLY=name,name)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { createModel, type ModelConfig } from 'geoseg';
import { dubaiDataset, geoseg } from './dubai.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

/** name → the model section (everything else is dubai-best's). */
export const ARCHITECTURE_RUNS: Record<string, Omit<ModelConfig, 'classes'>> = {
  'unet-r18': { arch: 'unet', encoder: 'resnet18' },
  'hrnet-w18': { arch: 'hrnet', encoder: 'hrnetv2_w18' },
  'hrnet_ocr-w18': { arch: 'hrnet_ocr', encoder: 'hrnetv2_w18' },
  'ocrnet-r18': { arch: 'ocrnet', encoder: 'resnet18' },
  'bisenet-r18': { arch: 'bisenet', encoder: 'resnet18' },
  'bisenet-r18-psp-split': { arch: 'bisenet', encoder: 'resnet18', psp: { bins: [1, 2, 3, 6] }, fusion: 'split' },
  'danet-r18': { arch: 'danet', encoder: 'resnet18' },
  'ccnet-r18': { arch: 'ccnet', encoder: 'resnet18' },
  'nonlocal-r18': { arch: 'nonlocal', encoder: 'resnet18' },
};

export async function dubaiArchitectures(): Promise<Record<string, unknown>> {
  const minutes = Number(process.env.ARCH_MINUTES ?? 7);
  const seed = Number(process.env.ARCH_SEED ?? 0);
  const only = process.env.ARCH_ONLY?.split(',');
  const dataset = dubaiDataset();
  const base = parse(readFileSync(join(repo, 'configs', 'dubai-best.yaml'), 'utf8'));
  const results: Record<string, any> = { minutes, seed, recipe: 'configs/dubai-best.yaml', runs: {} };
  for (const [name, model] of Object.entries(ARCHITECTURE_RUNS)) {
    if (only && !only.includes(name)) continue;
    const cfg = { ...base, model, out: join(repo, 'runs', `arch-${name}`), data: { ...base.data, dataset }, train: { ...base.train, minutes, seed } };
    const file = join(repo, 'runs', `arch-${name}.yaml`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, stringify(cfg));
    console.log(`geoseg: training ${name} for ${minutes} min…`);
    const s = geoseg(['train', '--config', file, '--overwrite']);
    const m = createModel({ ...model, classes: s.classes.length } as ModelConfig);
    const parameters = m.numParameters();
    m.dispose();
    results.runs[name] = {
      model, parameters, iterations: s.steps, secondsPerIteration: 1 / s.itPerSecond,
      mIoU: s.lastEval.metrics.mIoU, iou: s.lastEval.metrics.iou, classes: s.classes,
    };
    console.log(`  ${s.steps} iterations, ${results.runs[name].secondsPerIteration.toFixed(2)} s/it, mIoU ${(100 * s.lastEval.metrics.mIoU).toFixed(2)}%`);
    writeFileSync(join(here, `results-dubai-architectures-${minutes}min.json`), JSON.stringify(results, null, 2) + '\n');
  }
  printTable(results.runs);
  return results;
}

function printTable(runs: Record<string, any>): void {
  const names = Object.keys(runs);
  const classes: string[] = runs[names[0]].classes;
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '—');
  console.log(['architecture', 'params', 's/it', 'it', ...classes, 'mIoU'].join(' | '));
  for (const n of names) {
    const r = runs[n];
    console.log([n, `${(r.parameters / 1e6).toFixed(2)}M`, r.secondsPerIteration.toFixed(2), r.iterations, ...r.iou.map(pct), pct(r.mIoU)].join(' | '));
  }
}
