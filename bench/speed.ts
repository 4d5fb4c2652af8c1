// Speed at the hardware's limit (issue 20): UNet-ResNet18 training steps at 8×3×256² and
// ResNet-50 encoder forwards at 8×3×512², in float32 NCHW / float32 channels-last / bfloat16,
// against the same cases in Python PyTorch (bench/speed_ref.py), medians, TS and Python
// alternating per case. Each row gives the achieved GFLOP/s (FLOPs from torch.countFlops of one
// TS iteration, backward included) and its share of this machine's measured peak (bench/peak.ts)
// for its precision; ratios are against Python's fp32 NCHW case (the targets) and against
// Python's same case.
//
//   node --import tsx bench/run.ts speed
import * as torch from '@geoseg/torch';
import { channelsLast, createEncoder, createModel, useChannelsLast } from 'geoseg';
import { measurePeak, type Peak } from './peak.js';
import { PythonServer } from './python.js';
import { median } from './models.js';

export interface SpeedRow {
  case: string;
  tsMs: number;
  pythonMs: number;
  /** TS time / Python's fp32 NCHW time of the same model and mode. */
  ratioToPythonFp32: number;
  /** TS time / Python's time of the same case. */
  ratioToPythonSame: number;
  gflopsPerSecond: number;
  percentOfPeak: number;
}

type Case = { name: string; precision: 'fp32' | 'bf16'; make: () => () => void; iterations: number };

function unetCase(layout: 'nchw' | 'cl', bf16: boolean): () => () => void {
  return () => {
    torch.manualSeed(0);
    const model = createModel({ arch: 'unet', encoder: 'resnet18', classes: 6 });
    let x = torch.randn([8, 3, 256, 256]).keep();
    const y = torch.randint(0, 6, [8, 256, 256]).keep();
    if (layout === 'cl') {
      useChannelsLast(model);
      x = channelsLast(x).keep();
    }
    const opt = new torch.optim.Adam(model.parameters(), { lr: 1e-3 });
    model.train();
    return () => torch.tidy(() => {
      opt.zeroGrad();
      const out = bf16 ? torch.autocast({ dtype: 'bfloat16' }, () => model.forward(x)).float() : model.forward(x);
      torch.crossEntropyLoss(out, y).backward();
      opt.step();
    });
  };
}

function resnetCase(layout: 'nchw' | 'cl', precision: 'fp32' | 'bf16-autocast' | 'bf16-weights'): () => () => void {
  return () => {
    torch.manualSeed(0);
    const encoder = createEncoder('resnet50');
    encoder.eval();
    let x = torch.randn([8, 3, 512, 512]).keep();
    if (layout === 'cl') {
      useChannelsLast(encoder);
      x = channelsLast(x).keep();
    }
    if (precision === 'bf16-weights') {
      encoder.to('bfloat16');
      x = x.to('bfloat16').keep();
    }
    const forward = () => { encoder.forward(x); };
    return () => torch.tidy(() => torch.noGrad(() => (precision === 'bf16-autocast' ? torch.autocast({ dtype: 'bfloat16' }, forward) : forward())));
  };
}

const CASES: Case[] = [
  { name: 'unet-fp32-nchw', precision: 'fp32', make: unetCase('nchw', false), iterations: 5 },
  { name: 'unet-fp32-cl', precision: 'fp32', make: unetCase('cl', false), iterations: 5 },
  { name: 'unet-bf16-cl', precision: 'bf16', make: unetCase('cl', true), iterations: 5 },
  { name: 'resnet50-fp32-nchw', precision: 'fp32', make: resnetCase('nchw', 'fp32'), iterations: 3 },
  { name: 'resnet50-fp32-cl', precision: 'fp32', make: resnetCase('cl', 'fp32'), iterations: 3 },
  { name: 'resnet50-bf16-autocast-cl', precision: 'bf16', make: resnetCase('cl', 'bf16-autocast'), iterations: 3 },
  { name: 'resnet50-bf16-weights-cl', precision: 'bf16', make: resnetCase('cl', 'bf16-weights'), iterations: 3 },
];

export async function speedBench(threads: number, peak: Peak = measurePeak(threads)): Promise<SpeedRow[]> {
  torch.setNumThreads(threads);
  const py = new PythonServer('speed_ref.py', [String(threads)]);
  await py.read();
  const measured: { c: Case; tsMs: number; pythonMs: number; flops: number }[] = [];
  for (const c of CASES) {
    const run = c.make();
    const flops = torch.countFlops(run).total; // also the warm-up
    run();
    const ts: number[] = [];
    for (let i = 0; i < c.iterations; i++) {
      const t = process.hrtime.bigint();
      run();
      ts.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const python = (JSON.parse(await py.ask(`${c.name} ${c.iterations}`)) as number[]).map((s) => s * 1000);
    measured.push({ c, tsMs: median(ts), pythonMs: median(python), flops });
    torch.tidy(() => undefined);
  }
  py.close();
  const fp32Python = (name: string) => measured.find((m) => m.c.name === `${name.split('-')[0]}-fp32-nchw`)!.pythonMs;
  const rows = measured.map(({ c, tsMs, pythonMs, flops }) => {
    const gflopsPerSecond = flops / (tsMs * 1e6);
    return {
      case: c.name, tsMs, pythonMs, ratioToPythonFp32: tsMs / fp32Python(c.name), ratioToPythonSame: tsMs / pythonMs,
      gflopsPerSecond, percentOfPeak: (100 * gflopsPerSecond) / (c.precision === 'fp32' ? peak.fp32 : peak.bf16),
    };
  });
  for (const r of rows) {
    console.log(`${r.case}: TS ${r.tsMs.toFixed(0)} ms (${r.gflopsPerSecond.toFixed(0)} GFLOP/s, ${r.percentOfPeak.toFixed(0)}% of peak), Python ${r.pythonMs.toFixed(0)} ms; ` +
      `ratio to Python fp32 NCHW ${r.ratioToPythonFp32.toFixed(2)}, to Python's same case ${r.ratioToPythonSame.toFixed(2)}`);
  }
  return rows;
}
