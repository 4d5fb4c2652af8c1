// The Dubai acceptance run (issue 5): geoseg trains configs/<recipe>.yaml for N minutes, then the
// Python PyTorch reference (bench/dubai_train_ref.py) trains the same plain recipe for the same
// time; both evaluate the tile_8 scenes whole. Prints per-class IoU side by side.
//
//   node --import tsx bench/run.ts dubai            (DUBAI_MINUTES=20, DUBAI_RECIPES=dubai-unet-r18,dubai-best, DUBAI_SEED=0)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { pythonWithTorch } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const dubai = join(repo, '..', 'shared', 'data', 'dubai_aerial');

function geoseg(args: string[]): any {
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`geoseg ${args.join(' ')} failed (${r.status})`);
  return JSON.parse(r.stdout);
}

/** data/dubai: all 72 scenes, 512 tiles with 0.25 overlap, tile_8 scenes for validation, class-balanced tile weights. */
export function dubaiDataset(): string {
  const out = join(repo, 'data', 'dubai');
  if (!existsSync(join(out, 'dataset.json'))) {
    if (!existsSync(dubai)) throw new Error(`bench dubai: needs ${dubai}`);
    mkdirSync(join(repo, 'data'), { recursive: true });
    geoseg(['prepare', '--images', join(dubai, 'images'), '--labels', join(dubai, 'masks'), '--classes', join(repo, 'configs', 'dubai-classes.yaml'), '--out', out, '--tile', '512', '--overlap', '0.25']);
    geoseg(['split', out, '--val-scenes', 'tile_8/*', '--sampling', 'class-balanced']); // weights used by dubai-best only
  }
  return out;
}

export async function dubaiBench(): Promise<Record<string, unknown>> {
  const minutes = Number(process.env.DUBAI_MINUTES ?? 20);
  const recipes = (process.env.DUBAI_RECIPES ?? 'dubai-unet-r18,dubai-best').split(',');
  // the same seed for geoseg's runs and the Python one (each side draws its own crops from it)
  const seed = Number(process.env.DUBAI_SEED ?? 0);
  const suffix = seed === 0 ? '' : `-seed${seed}`;
  const dataset = dubaiDataset();
  const results: Record<string, any> = { minutes, seed };
  for (const recipe of recipes) {
    const cfg = parse(readFileSync(join(repo, 'configs', `${recipe}.yaml`), 'utf8'));
    cfg.train.minutes = minutes;
    cfg.train.seed = seed;
    cfg.out = join(repo, 'runs', `${recipe}-bench${suffix}`);
    cfg.data.dataset = dataset;
    const file = join(repo, 'runs', `${recipe}-bench${suffix}.yaml`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, stringify(cfg));
    console.log(`geoseg: training ${recipe} for ${minutes} min…`);
    const s = geoseg(['train', '--config', file]);
    results[recipe] = { iterations: s.steps, trainSeconds: s.trainSeconds, dataWaitSeconds: s.dataWaitSeconds, mIoU: s.lastEval.metrics.mIoU, iou: s.lastEval.metrics.iou, classes: s.classes };
    console.log(`  ${s.steps} iterations, mIoU ${(100 * s.lastEval.metrics.mIoU).toFixed(2)}%`);
  }
  console.log(`python: training the plain recipe for ${minutes} min…`);
  const out = execFileSync(pythonWithTorch(), [join(here, 'dubai_train_ref.py'), dataset, String(minutes), '2', String(seed)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  results.python = JSON.parse(out.trim().split('\n').pop()!);
  const names: string[] = results.python.classes;
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : '—');
  const rows = [['class', ...recipes.map((r) => `geoseg ${r}`), 'python plain'], ...names.map((n, i) => [n, ...recipes.map((r) => pct(results[r].iou[i])), pct(results.python.iou[i])]),
    ['mIoU', ...recipes.map((r) => pct(results[r].mIoU)), pct(results.python.mIoU)], ['iterations', ...recipes.map((r) => String(results[r].iterations)), String(results.python.iterations)]];
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(22))).join(''));
  writeFileSync(join(here, `results-dubai${suffix}.json`), JSON.stringify(results, null, 2) + '\n');
  return results;
}
