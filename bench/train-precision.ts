// Training speed in float32 and bf16-mixed (issue 20): UNet-ResNet18, batch 8 of 256² crops from
// the in-repo Dubai subset, Adam, DP_ITERATIONS (30) iterations each, iterations per second from
// the log (the first 5, warm-up, left out), and the two runs' losses side by side.
//
//   node --import tsx bench/run.ts train-precision
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runGeoseg as run, subsetWork, trainLines } from './dubai-subset.js';

export async function trainPrecisionBench(): Promise<{ precision: string; itPerSecond: number; lastLoss: number }[]> {
  const iterations = Number(process.env.DP_ITERATIONS ?? 30);
  const [work, ds] = subsetWork('train-precision');
  const rows = [];
  for (const precision of ['fp32', 'bf16-mixed']) {
    const file = join(work, `${precision}.yaml`);
    writeFileSync(file, stringify({
      out: join(work, precision), data: { dataset: ds, crop: 256, batch: 8 }, model: { arch: 'unet', encoder: 'resnet18' }, loss: 'ce',
      optimizer: { name: 'adam', lr: 0.001 }, augmentation: { hflip: { p: 0.5 } }, eval: { window: 512 },
      train: { iterations, logEvery: 1, checkpointEvery: iterations, seed: 0, threads: 2, precision },
    }));
    run(['train', '--config', file]);
    const lines = trainLines(join(work, precision));
    const [a, b] = [lines[4], lines[lines.length - 1]];
    rows.push({ precision, itPerSecond: (b.step - a.step) / (b.elapsedSeconds - a.elapsedSeconds), lastLoss: b.loss as number });
  }
  for (const r of rows) console.log(`train ${r.precision}: ${r.itPerSecond.toFixed(3)} it/s (${(r.itPerSecond / rows[0]!.itPerSecond).toFixed(2)}× fp32), loss at ${iterations}: ${r.lastLoss.toFixed(4)}`);
  return rows;
}
