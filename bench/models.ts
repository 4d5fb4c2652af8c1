// geoseg models against the same architectures in Python PyTorch (bench/models_ref.py):
// UNet-ResNet18 and DeepLabV3+-ResNet50 at 8x3x256x256, eval forward and training step
// (forward, cross-entropy, backward, Adam), medians, TS and Python runs alternating.
import * as torch from '@geoseg/torch';
import { createModel, type SegmentationModel } from 'geoseg';
import { PythonServer } from './python.js';

const BATCH = 8;
const SIZE = 256;
const CLASSES = 6;

export interface ModelBenchRow {
  model: string;
  mode: 'forward' | 'train';
  parameters: number;
  tsMedianMs: number;
  pythonMedianMs: number;
  ratio: number;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function modelsBench(threads: number, steps = 5): Promise<ModelBenchRow[]> {
  torch.setNumThreads(threads);
  torch.manualSeed(0);
  const py = new PythonServer('models_ref.py', [String(threads)]);
  const ready = JSON.parse(await py.read()) as { parameters: Record<string, number> };
  const x = torch.randn([BATCH, 3, SIZE, SIZE]);
  const y = torch.randint(0, CLASSES, [BATCH, SIZE, SIZE]);
  const rows: ModelBenchRow[] = [];
  const specs: [string, SegmentationModel][] = [
    ['unet-resnet18', createModel({ arch: 'unet', encoder: 'resnet18', classes: CLASSES })],
    ['deeplabv3plus-resnet50', createModel({ arch: 'deeplabv3plus', encoder: 'resnet50', classes: CLASSES })],
  ];
  for (const [name, model] of specs) {
    const parameters = model.numParameters();
    if (parameters !== ready.parameters[name]) throw new Error(`bench: ${name} has ${parameters} parameters in geoseg, ${ready.parameters[name]} in the Python reference`);
    const opt = new torch.optim.Adam(model.parameters(), { lr: 1e-3 });
    const run = {
      forward: () => torch.tidy(() => { model.eval(); torch.noGrad(() => model.forward(x)); }),
      train: () => torch.tidy(() => {
        model.train();
        opt.zeroGrad();
        torch.crossEntropyLoss(model.forward(x), y).backward();
        opt.step();
      }),
    };
    for (const mode of ['forward', 'train'] as const) {
      run[mode]();
      run[mode](); // two warm-ups on each side: the allocator takes a couple of steps to settle
      const ts: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t = process.hrtime.bigint();
        run[mode]();
        ts.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const pyTimes = (JSON.parse(await py.ask(`${name} ${mode} ${steps}`)) as number[]).map((s) => s * 1000);
      const row = { model: name, mode, parameters, tsMedianMs: median(ts), pythonMedianMs: median(pyTimes), ratio: median(ts) / median(pyTimes) };
      rows.push(row);
      console.log(`${name} ${mode}: TS ${row.tsMedianMs.toFixed(0)} ms, Python ${row.pythonMedianMs.toFixed(0)} ms, ratio ${row.ratio.toFixed(2)}`);
    }
    model.dispose();
  }
  py.close();
  return rows;
}
