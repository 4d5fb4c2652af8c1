// The recipe search's target on Dubai (issue 21): `geoseg search --space configs/search-dubai.yaml
// --budget 60m`, then its best.yaml and configs/dubai-best.yaml retrained for the 20-minute
// protocol with seeds 0 and 1, tile_8 mIoU of each.
//
// "20 minutes" as a fixed iteration count, so that the comparison does not depend on how busy the
// VM is: dubai-best gets RECIPE_ITERATIONS (511, what it ran in its 20 minutes here), the best
// config the iterations of the same training FLOPs (the search's cost model: a step is 3× the
// forward FLOPs of a batch), so both get the same compute by that count.
//
//   node --import tsx bench/run.ts recipe-search     (~2.5 hours; resumes where it stopped)
//   RECIPE_RUNS=best-seed0,dubai-best-seed1           a subset of the four retrains
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { dubaiDataset, geoseg } from './dubai.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const SPACE = join(repo, 'configs', 'search-dubai.yaml');
const SEARCH = join(repo, 'runs', 'search-dubai');

/** Forward GFLOPs of one crop of a run config's model (`geoseg models --flops`). */
function forwardGflops(cfg: any, classes: number): number {
  const listing = geoseg(['models', '--flops', String(cfg.data.crop), '--encoder', cfg.model.encoder, '--classes', String(classes)]);
  const arch = listing.architectures.find((a: any) => a.name === cfg.model.arch);
  if (!arch || typeof arch.gflops !== 'number') throw new Error(`recipe-search: no FLOP count for ${cfg.model.arch}`);
  return arch.gflops;
}

/** The search, run or continued; its state once finished. */
function search(): any {
  const state = join(SEARCH, 'search.json');
  if (existsSync(state) && JSON.parse(readFileSync(state, 'utf8')).best) return JSON.parse(readFileSync(state, 'utf8'));
  console.log(`recipe-search: geoseg search --space configs/search-dubai.yaml --budget 60m${existsSync(state) ? ' --resume' : ''} …`);
  const t0 = Date.now();
  geoseg(['search', '--space', SPACE, '--budget', '60m', ...(existsSync(state) ? ['--resume'] : [])]);
  console.log(`  search took ${((Date.now() - t0) / 60000).toFixed(1)} wall minutes`);
  return JSON.parse(readFileSync(state, 'utf8'));
}

export async function recipeSearchBench(): Promise<Record<string, unknown>> {
  const baseIterations = Number(process.env.RECIPE_ITERATIONS ?? 511);
  const dataset = dubaiDataset();
  const classes = JSON.parse(readFileSync(join(dataset, 'dataset.json'), 'utf8')).classes.length;
  const state = search();
  const recipes: Record<string, any> = {
    'dubai-best': parse(readFileSync(join(repo, 'configs', 'dubai-best.yaml'), 'utf8')),
    best: parse(readFileSync(join(SEARCH, 'best.yaml'), 'utf8')),
  };
  const stepGflops = (cfg: any) => 3 * forwardGflops(cfg, classes) * cfg.data.batch;
  const budgetGflops = baseIterations * stepGflops(recipes['dubai-best']);
  const iterationsOf = (cfg: any) => Math.round(budgetGflops / stepGflops(cfg));
  const file = join(here, `results-recipe-search-${baseIterations}it.json`);
  const results: Record<string, any> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { baseIterations, runs: {} };
  results.search = { trials: state.trials, best: state.best, candidates: state.candidates };
  const all = ['best-seed0', 'best-seed1', 'dubai-best-seed1', 'dubai-best-seed0'];
  const wanted = (process.env.RECIPE_RUNS ?? all.join(',')).split(',').filter(Boolean);
  for (const name of wanted) {
    const m = /^(best|dubai-best)-seed(\d+)$/.exec(name);
    if (!m) throw new Error(`RECIPE_RUNS: unknown run '${name}' (${all.join(', ')})`);
    if (results.runs[name]) continue;
    const cfg = structuredClone(recipes[m[1]]);
    cfg.data.dataset = dataset;
    const iterations = iterationsOf(cfg);
    cfg.train = { ...cfg.train, iterations, seed: Number(m[2]) };
    delete cfg.train.minutes;
    cfg.out = join(repo, 'runs', `recipe-${name}`);
    const config = join(repo, 'runs', `recipe-${name}.yaml`);
    mkdirSync(dirname(config), { recursive: true });
    writeFileSync(config, stringify(cfg));
    console.log(`recipe-search: ${name}, ${iterations} iterations (${(stepGflops(cfg)).toFixed(0)} GFLOPs a step) …`);
    const s = geoseg(['train', '--config', config, '--overwrite']);
    results.runs[name] = { iterations: s.steps, stepGflops: stepGflops(cfg), trainSeconds: s.trainSeconds, mIoU: s.lastEval.metrics.mIoU, iou: s.lastEval.metrics.iou, classes: s.classes };
    console.log(`  mIoU ${(100 * s.lastEval.metrics.mIoU).toFixed(2)} in ${(s.trainSeconds / 60).toFixed(1)} min`);
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  }
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  for (const t of state.trials) console.log(`trial r${t.rung}-c${t.candidate}: ${JSON.stringify(state.candidates[t.candidate])} ${t.iterations} it, mIoU ${t.mIoU === null ? t.error : (100 * t.mIoU).toFixed(2)}`);
  for (const [name, r] of Object.entries(results.runs as Record<string, any>)) console.log(`${name.padEnd(18)} ${String(r.iterations).padStart(5)} it  mIoU ${(100 * r.mIoU).toFixed(2)}  ${(r.trainSeconds / 60).toFixed(1)} min`);
  return results;
}
