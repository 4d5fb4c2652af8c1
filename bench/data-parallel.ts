// Data-parallel scaling on this machine (issue 19): the same UNet-ResNet18 training (global batch
// 8 of 256² crops from the in-repo Dubai subset, Adam) as 1 process × 2 threads and as 2 workers
// (`geoseg train --nproc 2`) × 1 thread × batch 4, with synchronized and with local batch norm,
// and the local one again with the gradient all-reduce after backward instead of overlapping it
// (train.overlapGradients: false); iterations per second from each run's log (the first 5
// iterations, warm-up, left out), and the workers' share of a step spent waiting for collectives
// (the gradient all-reduces still running when backward ends, the loss agreement; batch-norm
// statistics are inside the forward/backward and not counted).
//
//   node --import tsx bench/run.ts data-parallel   (DP_ITERATIONS=30)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runGeoseg as run, subsetWork, trainLines } from './dubai-subset.js';

interface Row { setup: string; itPerSecond: number; communicationShare: number | null }

export async function dataParallelBench(): Promise<Row[]> {
  const iterations = Number(process.env.DP_ITERATIONS ?? 30);
  const [work, ds] = subsetWork('data-parallel');
  const config = (name: string, batch: number, threads: number, extra: Record<string, unknown> = {}) => {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, stringify({
      out: join(work, name), data: { dataset: ds, crop: 256, batch }, model: { arch: 'unet', encoder: 'resnet18' }, loss: 'ce',
      optimizer: { name: 'adam', lr: 0.001 }, augmentation: { hflip: { p: 0.5 } }, eval: { window: 512 },
      train: { iterations, logEvery: 1, checkpointEvery: iterations, seed: 0, threads, ...extra },
    }));
    return file;
  };
  const measure = (name: string): { itPerSecond: number; communicationShare: number | null } => {
    const lines = trainLines(join(work, name));
    const [a, b] = [lines[4], lines[lines.length - 1]];
    const seconds = b.elapsedSeconds - a.elapsedSeconds;
    const comm = b.communicationSeconds === undefined ? null : (b.communicationSeconds - a.communicationSeconds!) / seconds;
    return { itPerSecond: (b.step - a.step) / seconds, communicationShare: comm };
  };
  const rows: Row[] = [];
  run(['train', '--config', config('one', 8, 2)]);
  rows.push({ setup: '1 process × 2 threads, batch 8', ...measure('one') });
  run(['train', '--config', config('two', 4, 1, { syncBatchNorm: true }), '--nproc', '2']);
  rows.push({ setup: '2 workers × 1 thread, batch 4 each, sync BN', ...measure('two') });
  run(['train', '--config', config('two-local', 4, 1), '--nproc', '2']);
  rows.push({ setup: '2 workers × 1 thread, batch 4 each, local BN', ...measure('two-local') });
  run(['train', '--config', config('two-after', 4, 1, { overlapGradients: false }), '--nproc', '2']);
  rows.push({ setup: '2 workers × 1 thread, batch 4 each, local BN, all-reduce after backward', ...measure('two-after') });
  for (const r of rows) {
    console.log(`${r.setup}: ${r.itPerSecond.toFixed(3)} it/s (${(r.itPerSecond / rows[0]!.itPerSecond).toFixed(2)}× the single process)` +
      (r.communicationShare === null ? '' : `, ${(100 * r.communicationShare).toFixed(1)}% of the step waiting for the gradient all-reduce and loss agreement`));
  }
  return rows;
}
