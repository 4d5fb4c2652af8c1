// Achieved GFLOP/s and share of the measured peak for the speed rows of the README's Performance
// tables (issue 20): each row's FLOPs counted at the dispatcher (modelFlops: one forward of the
// architecture at the row's input; a training step is 3× that; prediction is the forward over
// every window of the grid), divided by the time the README reports for it. The peak is
// `bench peak`'s fp32 figure on the development VM (225 GFLOP/s on 2 threads, 2026-12-02;
// PEAK_GFLOPS= to use another).
//
//   node --import tsx bench/run.ts flops
import * as torch from '@geoseg/torch';
import { createModel, modelFlops, type ModelConfig } from '../packages/geoseg/src/models/index.js';
import { windowGrid } from '../packages/geoseg/src/infer/window-grid.js';

interface Row {
  table: string;
  what: string;
  model: ModelConfig;
  /** [batch, bands, height, width] of one pass. */
  input: [number, number, number, number];
  pass: 'forward' | 'step';
  /** Seconds the README reports for one pass (one iteration for s/it rows). */
  seconds: number;
  /** Passes (windows of a predict: the batch is 1 window here). */
  passes?: number;
}

const m = (arch: string, encoder: string, classes: number, extra: Record<string, unknown> = {}): ModelConfig => ({ arch, encoder, classes, inChannels: 3, ...extra });
const windows = (size: number, window: number, overlap: number) => {
  const g = windowGrid(size, size, window, overlap);
  return g.xs.length * g.ys.length;
};

const ROWS: Row[] = [
  { table: 'npm run bench', what: 'UNet-ResNet18 eval forward', model: m('unet', 'resnet18', 6), input: [8, 3, 256, 256], pass: 'forward', seconds: 0.766 },
  { table: 'npm run bench', what: 'UNet-ResNet18 training step', model: m('unet', 'resnet18', 6), input: [8, 3, 256, 256], pass: 'step', seconds: 2.278 },
  { table: 'npm run bench', what: 'DeepLabV3+-ResNet50 eval forward', model: m('deeplabv3plus', 'resnet50', 6), input: [8, 3, 256, 256], pass: 'forward', seconds: 1.562 },
  { table: 'npm run bench', what: 'DeepLabV3+-ResNet50 training step', model: m('deeplabv3plus', 'resnet50', 6), input: [8, 3, 256, 256], pass: 'step', seconds: 4.886 },
  { table: 'context', what: 'HRNet-W18 + OCR eval forward', model: m('hrnet_ocr', 'hrnetv2_w18', 6), input: [2, 3, 512, 512], pass: 'forward', seconds: 1.581 },
  { table: 'context', what: 'HRNet-W18 + OCR training step', model: m('hrnet_ocr', 'hrnetv2_w18', 6), input: [2, 3, 512, 512], pass: 'step', seconds: 4.313 },
  { table: 'context', what: 'BiSeNet-ResNet18 eval forward', model: m('bisenet', 'resnet18', 6), input: [2, 3, 512, 512], pass: 'forward', seconds: 0.276 },
  { table: 'context', what: 'BiSeNet-ResNet18 training step', model: m('bisenet', 'resnet18', 6), input: [2, 3, 512, 512], pass: 'step', seconds: 0.810 },
  { table: 'pyramid', what: 'FactSeg-ResNet50 eval forward (run 2)', model: m('factseg', 'resnet50', 6), input: [2, 3, 512, 512], pass: 'forward', seconds: 1.199 },
  { table: 'pyramid', what: 'FactSeg-ResNet50 training step (run 2)', model: m('factseg', 'resnet50', 6), input: [2, 3, 512, 512], pass: 'step', seconds: 4.099 },
  { table: 'pyramid', what: 'UNet++-ResNet18 eval forward (run 2)', model: m('unetpp', 'resnet18', 6), input: [2, 3, 512, 512], pass: 'forward', seconds: 1.059 },
  { table: 'pyramid', what: 'UNet++-ResNet18 training step (run 2)', model: m('unetpp', 'resnet18', 6), input: [2, 3, 512, 512], pass: 'step', seconds: 3.165 },
  { table: 'small objects', what: 'UNet-R18 (s/it)', model: m('unet', 'resnet18', 2), input: [4, 3, 256, 256], pass: 'step', seconds: 0.57 },
  { table: 'small objects', what: 'FarSeg-R18 (s/it)', model: m('farseg', 'resnet18', 2), input: [4, 3, 256, 256], pass: 'step', seconds: 0.77 },
  { table: 'small objects', what: 'FactSeg-R18 (s/it)', model: m('factseg', 'resnet18', 2), input: [4, 3, 256, 256], pass: 'step', seconds: 1.16 },
  ...([
    ['unet, resnet18', 'unet', 'resnet18', {}, 1.38], ['hrnet, hrnetv2_w18', 'hrnet', 'hrnetv2_w18', {}, 2.48], ['hrnet_ocr, hrnetv2_w18', 'hrnet_ocr', 'hrnetv2_w18', {}, 4.74],
    ['ocrnet, resnet18', 'ocrnet', 'resnet18', {}, 2.77], ['bisenet, resnet18', 'bisenet', 'resnet18', {}, 1.02],
    ['bisenet, resnet18, psp + split', 'bisenet', 'resnet18', { psp: { bins: [1, 2, 3, 6] }, fusion: 'split' }, 1.03],
    ['danet, resnet18', 'danet', 'resnet18', {}, 3.00], ['ccnet, resnet18', 'ccnet', 'resnet18', {}, 2.79], ['nonlocal, resnet18', 'nonlocal', 'resnet18', {}, 4.35],
  ] as const).map(([what, arch, encoder, extra, s]): Row => ({ table: 'Dubai architectures (s/it)', what, model: m(arch, encoder, 5, extra), input: [8, 3, 256, 256], pass: 'step', seconds: s })),
  { table: 'large-scene predict', what: 'UNet-ResNet18 8192², fp32', model: m('unet', 'resnet18', 5), input: [1, 3, 512, 512], pass: 'forward', seconds: 190, passes: windows(8192, 512, 0.25) },
  { table: 'large-scene predict', what: 'UNet-ResNet18 16384², fp32', model: m('unet', 'resnet18', 5), input: [1, 3, 512, 512], pass: 'forward', seconds: 760, passes: windows(16384, 512, 0.25) },
];

export async function flopsTable(): Promise<Record<string, unknown>> {
  const peak = Number(process.env.PEAK_GFLOPS ?? 225);
  const cache = new Map<string, number>();
  const rows = ROWS.map((r) => {
    const key = JSON.stringify([r.model, r.input.slice(1)]);
    if (!cache.has(key)) {
      const model = torch.nn.init.withoutRandomInit(() => createModel(r.model));
      cache.set(key, modelFlops(model, [1, ...r.input.slice(1)] as [number, number, number, number]).forward);
      model.dispose();
    }
    const flops = cache.get(key)! * r.input[0] * (r.pass === 'step' ? 3 : 1) * (r.passes ?? 1);
    const gflops = flops / 1e9 / r.seconds;
    return { table: r.table, what: r.what, gflop: flops / 1e9, seconds: r.seconds, gflopsPerSecond: gflops, percentOfPeak: (100 * gflops) / peak };
  });
  for (const r of rows) console.log(`${r.table.padEnd(28)} ${r.what.padEnd(40)} ${r.gflop.toFixed(1).padStart(9)} GFLOP ${r.seconds.toFixed(3).padStart(8)} s ${r.gflopsPerSecond.toFixed(0).padStart(5)} GFLOP/s ${r.percentOfPeak.toFixed(0).padStart(4)}% of ${peak}`);
  return { peak, rows };
}
