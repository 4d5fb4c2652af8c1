// The Dubai acceptance run (issue 5): geoseg trains configs/<recipe>.yaml for N minutes, then the
// Python PyTorch reference (bench/dubai_train_ref.py) trains the same plain recipe for the same
// time; both evaluate the tile_8 scenes whole. Prints per-class IoU side by side.
//
//   node --import tsx bench/run.ts dubai   (DUBAI_MINUTES=20, DUBAI_RECIPES=dubai-unet-r18,dubai-best, DUBAI_SEEDS=0
//                                           or e.g. 0,1,2 with a mean ± sd at the end, DUBAI_ITERATIONS=N instead of minutes,
//                                           DUBAI_PYTHON=0 to skip the Python reference)
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

export function geoseg(args: string[]): any {
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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => {
  const m = mean(xs);
  return xs.length < 2 ? NaN : Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

export async function dubaiBench(): Promise<Record<string, unknown>> {
  const minutes = Number(process.env.DUBAI_MINUTES ?? 20);
  // DUBAI_ITERATIONS=N: every run stops after N iterations instead of after the minutes (the
  // result then does not depend on how fast the machine is that day)
  const iterations = process.env.DUBAI_ITERATIONS ? Number(process.env.DUBAI_ITERATIONS) : undefined;
  const recipes = (process.env.DUBAI_RECIPES ?? 'dubai-unet-r18,dubai-best').split(',').filter(Boolean);
  // the same seed for geoseg's runs and the Python one (each side draws its own crops from it)
  const seeds = (process.env.DUBAI_SEEDS ?? process.env.DUBAI_SEED ?? '0').split(',').map(Number);
  const withPython = process.env.DUBAI_PYTHON !== '0';
  const budget = iterations ? `-it${iterations}` : '';
  const dataset = dubaiDataset();
  const runs: Record<string, any>[] = [];
  for (const seed of seeds) {
    const suffix = `${seed === 0 ? '' : `-seed${seed}`}${budget}`;
    const results: Record<string, any> = { minutes, iterations, seed };
    for (const recipe of recipes) {
      const cfg = parse(readFileSync(join(repo, 'configs', `${recipe}.yaml`), 'utf8'));
      if (iterations) {
        cfg.train.iterations = Math.min(cfg.train.iterations ?? Infinity, iterations);
        delete cfg.train.minutes;
      } else cfg.train.minutes = minutes;
      cfg.train.seed = seed;
      cfg.out = join(repo, 'runs', `${recipe}-bench${suffix}`);
      cfg.data.dataset = dataset;
      const file = join(repo, 'runs', `${recipe}-bench${suffix}.yaml`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, stringify(cfg));
      console.log(`geoseg: training ${recipe}, seed ${seed}, for ${iterations ? `${cfg.train.iterations} iterations` : `${minutes} min`}…`);
      const s = geoseg(['train', '--config', file, '--overwrite']); // a fresh run each time
      results[recipe] = { iterations: s.steps, scheduleLength: s.scheduleLength, trainSeconds: s.trainSeconds, dataWaitSeconds: s.dataWaitSeconds, mIoU: s.lastEval.metrics.mIoU, iou: s.lastEval.metrics.iou, classes: s.classes };
      console.log(`  ${s.steps} iterations, mIoU ${(100 * s.lastEval.metrics.mIoU).toFixed(2)}%`);
    }
    if (withPython) {
      console.log(`python: training the plain recipe, seed ${seed}, for ${iterations ? `${iterations} iterations` : `${minutes} min`}…`);
      const out = execFileSync(pythonWithTorch(), [join(here, 'dubai_train_ref.py'), dataset, iterations ? '0' : String(minutes), '2', String(seed), String(iterations ?? 0)],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      results.python = JSON.parse(out.trim().split('\n').pop()!);
    }
    printTable(recipes, results);
    writeFileSync(join(here, `results-dubai${suffix}.json`), JSON.stringify(results, null, 2) + '\n');
    runs.push(results);
  }
  if (runs.length < 2) return runs[0];
  // over the seeds: mean ± standard deviation of each side's mIoU
  const summary: Record<string, { mean: number; sd: number; mIoU: number[] }> = {};
  for (const side of [...recipes, ...(withPython ? ['python'] : [])]) {
    const xs = runs.map((r) => r[side].mIoU);
    summary[side] = { mean: mean(xs), sd: sd(xs), mIoU: xs };
    console.log(`${side.padEnd(16)} mIoU over seeds ${seeds.join(',')}: ${xs.map((x) => (100 * x).toFixed(2)).join(', ')} → ${(100 * mean(xs)).toFixed(2)} ± ${(100 * sd(xs)).toFixed(2)}`);
  }
  const all = { seeds, iterations, minutes, runs, summary };
  writeFileSync(join(here, `results-dubai${budget}-seeds${seeds.join('_')}.json`), JSON.stringify(all, null, 2) + '\n');
  return all;
}

function printTable(recipes: string[], results: Record<string, any>): void {
  const sides = [...recipes, ...(results.python ? ['python'] : [])];
  const names: string[] = results[sides[0]].classes;
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : '—');
  const rows = [['class', ...recipes.map((r) => `geoseg ${r}`), ...(results.python ? ['python plain'] : [])], ...names.map((n, i) => [n, ...sides.map((r) => pct(results[r].iou[i]))]),
    ['mIoU', ...sides.map((r) => pct(results[r].mIoU))], ['iterations', ...sides.map((r) => String(results[r].iterations))]];
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(22))).join(''));
}
