// Training in fp32 against bf16-mixed (issue 20): UNet-ResNet18, batch 8 of 256² crops from the
// in-repo Dubai subset, Adam, DP_ITERATIONS (30) iterations per run, for each seed of
// DP_SEEDS (0); iterations per second from the log (the first 5, warm-up, left out), the last
// loss, the mean loss of the last 50 and the final validation mIoU (when the dataset has a val split) side by side, so bf16-mixed can be judged against fp32's
// own seed-to-seed spread (DP_ITERATIONS=300 DP_SEEDS=0,1: ~25 minutes).
//
//   node --import tsx bench/run.ts train-precision
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runGeoseg as run, subsetWork, trainLines } from './dubai-subset.js';

export interface TrainPrecisionRow { precision: string; seed: number; itPerSecond: number; lastLoss: number; meanLastLosses: number; valMIoU: number | null }

export async function trainPrecisionBench(): Promise<TrainPrecisionRow[]> {
  const iterations = Number(process.env.DP_ITERATIONS ?? 30);
  const seeds = (process.env.DP_SEEDS ?? '0').split(',').map(Number);
  const [work, ds] = subsetWork('train-precision');
  const rows: TrainPrecisionRow[] = [];
  for (const seed of seeds) {
    for (const precision of ['fp32', 'bf16-mixed']) {
      const name = `${precision}-seed${seed}`;
      const file = join(work, `${name}.yaml`);
      writeFileSync(file, stringify({
        out: join(work, name), data: { dataset: ds, crop: 256, batch: 8 }, model: { arch: 'unet', encoder: 'resnet18' }, loss: 'ce',
        optimizer: { name: 'adam', lr: 0.001 }, augmentation: { hflip: { p: 0.5 } }, eval: { window: 512 },
        train: { iterations, logEvery: 1, checkpointEvery: iterations, seed, threads: 2, precision, channelsLast: precision !== 'fp32' },
      }));
      run(['train', '--config', file, '--overwrite']);
      const lines = trainLines(join(work, name));
      const [a, b] = [lines[4]!, lines[lines.length - 1]!];
      const evals = readFileSync(join(work, name, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'eval');
      const tail = lines.slice(-Math.min(50, lines.length)); // one batch's loss is noisy: the mean of the last 50
      rows.push({ precision, seed, itPerSecond: (b.step - a.step) / (b.elapsedSeconds - a.elapsedSeconds), lastLoss: b.loss, meanLastLosses: tail.reduce((x, l) => x + l.loss, 0) / tail.length, valMIoU: evals.length ? evals[evals.length - 1].mIoU : null });
    }
  }
  const fp32 = (seed: number) => rows.find((r) => r.precision === 'fp32' && r.seed === seed)!;
  for (const r of rows) {
    console.log(`train ${r.precision} seed ${r.seed}: ${r.itPerSecond.toFixed(3)} it/s (${(r.itPerSecond / fp32(r.seed).itPerSecond).toFixed(2)}× fp32), ` +
      `loss at ${iterations}: ${r.lastLoss.toFixed(4)}, mean of the last 50: ${r.meanLastLosses.toFixed(4)}, val mIoU ${r.valMIoU === null ? '-' : (100 * r.valMIoU).toFixed(2)}`);
  }
  return rows;
}
