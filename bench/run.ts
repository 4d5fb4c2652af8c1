// `npm run bench`: engine benchmarks against Python PyTorch on the same machine and libtorch.
// Prints a table and one JSON line (also written to bench/results.json).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { opOverhead } from './op-overhead.js';
import { unetStep } from './unet-step.js';
import { modelsBench } from './models.js';
import { measurePeak } from './peak.js';
import { speedBench } from './speed.js';
import { CONTEXT_MODELS, contextBench, PYRAMID_MODELS } from './context.js';
import { dubaiBench } from './dubai.js';
import { dubaiArchitectures } from './dubai-architectures.js';
import { smallObjects } from './small-objects.js';
import { predictBench } from './predict.js';
import { trainEquivalence } from './train-equivalence.js';
import { dataParallelBench } from './data-parallel.js';
import { predictManyBench } from './predict-many.js';
import { trainPrecisionBench } from './train-precision.js';
import { toolboxBench } from './toolbox.js';
import { toolboxTrainBench } from './toolbox-train.js';
import { recipeSearchBench } from './recipe-search.js';
import { flopsTable } from './flops-table.js';
import { refineFigure } from './refine-figure.js';

const threads = Number(process.env.BENCH_THREADS ?? 2);
const only = process.argv[2];

const results: Record<string, unknown> = { threads, libtorch: torch.buildInfo().version, date: new Date().toISOString() };

if (!only || only === 'op') {
  const r = await opOverhead(threads);
  results.opOverhead = r;
  console.log(`op overhead (add, 8 elements): TS ${r.tsTidyUs.toFixed(2)} µs (tidy), ${r.tsDisposeUs.toFixed(2)} µs (dispose); ` +
    `Python ${r.pythonUs.toFixed(2)} µs; ratio TS/Python ${r.ratio.toFixed(2)} (target ≤ 1.0)`);
}
if (!only || only === 'unet') {
  const r = await unetStep(threads);
  results.unetStep = r;
  console.log(`UNet training step (${(r.parameters / 1e6).toFixed(2)}M params, 4x3x256x256, Adam): TS ${r.tsMedianMs.toFixed(0)} ms; ` +
    `Python ${r.pythonMedianMs.toFixed(0)} ms; ratio TS/Python ${r.ratio.toFixed(2)} (target ≤ 1.0)`);
}
if (!only || only === 'models') {
  results.models = await modelsBench(threads);
}
let peak: ReturnType<typeof measurePeak> | undefined;
if (!only || only === 'peak' || only === 'speed') results.peak = peak = measurePeak(threads);
// bf16 and channels-last against Python's fp32 (issue 20): ~3 minutes
if (!only || only === 'speed') results.speed = await speedBench(threads, peak);
if (!only || only === 'context') {
  results.context = await contextBench(threads, CONTEXT_MODELS);
}
if (!only || only === 'pyramid') {
  results.pyramid = await contextBench(threads, PYRAMID_MODELS);
}
// The Dubai training comparison takes ~an hour: only when asked (`npm run bench -- dubai`).
if (only === 'dubai') results.dubai = await dubaiBench();
// The architecture comparison on Dubai (9 architectures × ARCH_MINUTES=7, ~80 minutes): only when asked.
if (only === 'architectures') results.architectures = await dubaiArchitectures();
// Cars in the ISPRS samples: UNet, FarSeg, FactSeg for SMALL_MINUTES=8 each (~30 minutes): only when asked.
if (only === 'small-objects') results.smallObjects = await smallObjects();
// `geoseg train` against Python on the same weights and batches, then both evaluations (EQUIV_STEPS=30:
// ~8 minutes; 300, the 20-minute budget: ~55 minutes): only when asked.
if (only === 'equivalence') results.equivalence = await trainEquivalence(threads);
// Data-parallel scaling, 1 process × 2 threads against 2 workers × 1 thread (~5 minutes): only when asked.
if (only === 'data-parallel') results.dataParallel = await dataParallelBench();
// Many-scene prediction, 1 process against 2 workers (~3 minutes; PREDICT_MANY_SCENE=tall: one scene in parts): only when asked.
if (only === 'predict-many') results[process.env.PREDICT_MANY_SCENE === 'tall' ? 'predictManyTall' : 'predictMany'] = await predictManyBench();
// Training in fp32 against bf16-mixed (~3 minutes): only when asked.
if (only === 'train-precision') results.trainPrecision = await trainPrecisionBench();
// dense CRF and histogram matching on Dubai with a trained checkpoint (issue 21): ~15 minutes
if (only === 'toolbox') results.toolbox = await toolboxBench();
// achieved GFLOP/s and % of peak of the README's speed rows (seconds: FLOP counting only)
if (only === 'flops') results.flopsTable = await flopsTable();
// docs/refine-labels.png, refine-labels before/after on a demo crop (~10 seconds)
if (only === 'refine-figure') results.refineFigure = await refineFigure();
// dubai-best with one toolbox item changed at a time, 511 iterations each (~20 minutes a variant)
if (only === 'toolbox-train') results.toolboxTrain = await toolboxTrainBench();
// the recipe search's target: a 60-minute search, then its best and dubai-best, 2 seeds each (~2.5 hours)
if (only === 'recipe-search') results.recipeSearch = await recipeSearchBench();
// Large-scene prediction (8192² and 16384², with a Python reference): ~40 minutes, only when asked.
if (only === 'predict') results[process.env.PREDICT_ARCH ? `predict_${process.env.PREDICT_ARCH}` : 'predict'] = await predictBench(threads);
const file = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
// a part run alone updates its entry and keeps the other parts' last results
const kept = only && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
writeFileSync(file, JSON.stringify({ ...kept, ...results }, null, 2) + '\n');
console.log(JSON.stringify(results));
