// Models against the same architectures in Python PyTorch (bench/context_ref.py, the decoder
// fixture's independent implementations) at 2x3x512x512: eval forward and training step (the
// model's default objective — each training output's cross-entropy at its weight, FactSeg's cp
// with small object mining — backward, SGD with momentum), medians, each model and mode timed in
// TS and then in Python; then the peak memory of one training step, each side in a fresh process.
// Two sets: the seeds' context models (HRNetV2-W18 + OCR, BiSeNet-ResNet18) and issue 18's
// pyramid/nested ones (FactSeg-ResNet50, UNet++-ResNet18).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { createModel, defaultObjective, runObjective, type ModelConfig, type SegmentationModel } from 'geoseg';
import { median, type ModelBenchRow } from './models.js';
import { PythonServer, pythonWithTorch } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const BATCH = 2;
const SIZE = 512;
const CLASSES = 6;
const CONFIGS: Record<string, ModelConfig> = {
  'hrnet_ocr-w18': { arch: 'hrnet_ocr', encoder: 'hrnetv2_w18', classes: CLASSES },
  'bisenet-resnet18': { arch: 'bisenet', encoder: 'resnet18', classes: CLASSES },
  'factseg-resnet50': { arch: 'factseg', encoder: 'resnet50', classes: CLASSES },
  'unetpp-resnet18': { arch: 'unetpp', encoder: 'resnet18', classes: CLASSES },
};
export const CONTEXT_MODELS = ['hrnet_ocr-w18', 'bisenet-resnet18'];
export const PYRAMID_MODELS = ['factseg-resnet50', 'unetpp-resnet18'];

export interface ContextMemoryRow {
  model: string;
  tsPeakRssMB: number;
  tsStepGrowthMB: number;
  pythonPeakRssMB: number;
  pythonStepGrowthMB: number;
}

function build(name: string) {
  const config = CONFIGS[name];
  const model = createModel(config);
  // the outputs' weights, for the check against the reference; the step uses the objective itself
  const weights = Object.fromEntries(Object.entries(defaultObjective(config)).map(([k, o]) => [k, o.weight]));
  const objective = runObjective({}, config, {}, name);
  const opt = new torch.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return { model, weights, objective, opt };
}

function step({ model, objective, opt }: ReturnType<typeof build>, x: torch.Tensor, y: torch.Tensor, mode: 'forward' | 'train'): void {
  torch.tidy(() => {
    if (mode === 'forward') {
      model.eval();
      torch.noGrad(() => model.forward(x));
      return;
    }
    model.train();
    opt.zeroGrad();
    objective(model.forwardOutputs(x), y, { progress: 0.5 }).total.backward();
    opt.step();
  });
}

function data() {
  torch.manualSeed(0);
  return { x: torch.randn([BATCH, 3, SIZE, SIZE]), y: torch.randint(0, CLASSES, [BATCH, SIZE, SIZE]) };
}

/** A field of /proc/self/status in MB: VmHWM is this process's own peak (getrusage's maxRSS is inherited across fork and exec). */
const statusMB = (field: string) => Number(/\d+/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!)![0]) / 1024;

/** `node --import tsx bench/context.ts --memory <model> <threads>`: one training step in this fresh process. */
async function memoryChild(name: string, threads: number): Promise<void> {
  torch.setNumThreads(threads);
  const b = build(name);
  const { x, y } = data();
  const before = statusMB('VmRSS');
  step(b, x, y, 'train');
  const peak = statusMB('VmHWM');
  console.log(JSON.stringify({ peakRssMB: peak, stepGrowthMB: peak - before }));
}

export async function contextBench(threads: number, names = CONTEXT_MODELS, steps = 3): Promise<{ speed: ModelBenchRow[]; memory: ContextMemoryRow[] }> {
  torch.setNumThreads(threads);
  const py = new PythonServer('context_ref.py', [String(threads), ...names]);
  const ready = JSON.parse(await py.read()) as { parameters: Record<string, number>; objectives: Record<string, Record<string, number>> };
  const { x, y } = data();
  const speed: ModelBenchRow[] = [];
  for (const name of names) {
    const b = build(name);
    const parameters = b.model.numParameters();
    if (parameters !== ready.parameters[name]) throw new Error(`bench: ${name} has ${parameters} parameters in geoseg, ${ready.parameters[name]} in the Python reference`);
    if (JSON.stringify(b.weights) !== JSON.stringify(ready.objectives[name])) throw new Error(`bench: ${name}: objective ${JSON.stringify(b.weights)} in geoseg, ${JSON.stringify(ready.objectives[name])} in the reference`);
    for (const mode of ['forward', 'train'] as const) {
      step(b, x, y, mode);
      step(b, x, y, mode);
      const ts: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t = process.hrtime.bigint();
        step(b, x, y, mode);
        ts.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const pyTimes = (JSON.parse(await py.ask(`${name} ${mode} ${steps}`)) as number[]).map((s) => s * 1000);
      const row = { model: name, mode, parameters, tsMedianMs: median(ts), pythonMedianMs: median(pyTimes), ratio: median(ts) / median(pyTimes) };
      speed.push(row);
      console.log(`${name} ${mode} (${BATCH}x3x${SIZE}x${SIZE}): TS ${row.tsMedianMs.toFixed(0)} ms, Python ${row.pythonMedianMs.toFixed(0)} ms, ratio ${row.ratio.toFixed(2)}`);
    }
    (b.model as SegmentationModel).dispose();
  }
  py.close();
  const memory: ContextMemoryRow[] = [];
  for (const name of names) {
    const tsOut = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'context.ts'), '--memory', name, String(threads)], { encoding: 'utf8' });
    const pyOut = execFileSync(pythonWithTorch(), [join(here, 'context_ref.py'), String(threads), '--memory', name], { encoding: 'utf8' });
    const t = JSON.parse(tsOut.trim().split('\n').pop()!), p = JSON.parse(pyOut.trim().split('\n').pop()!);
    const row = { model: name, tsPeakRssMB: t.peakRssMB, tsStepGrowthMB: t.stepGrowthMB, pythonPeakRssMB: p.peakRssMB, pythonStepGrowthMB: p.stepGrowthMB };
    memory.push(row);
    console.log(`${name} one training step (${BATCH}x3x${SIZE}x${SIZE}): peak RSS TS ${t.peakRssMB.toFixed(0)} MB (step +${t.stepGrowthMB.toFixed(0)}), ` +
      `Python ${p.peakRssMB.toFixed(0)} MB (step +${p.stepGrowthMB.toFixed(0)}), ratio ${(t.peakRssMB / p.peakRssMB).toFixed(2)}`);
  }
  return { speed, memory };
}

if (process.argv[2] === '--memory') await memoryChild(process.argv[3], Number(process.argv[4]));
