// Training speed in float32 and bf16-mixed (issue 20): UNet-ResNet18, batch 8 of 256² crops from
// the in-repo Dubai subset, Adam, DP_ITERATIONS (30) iterations each, iterations per second from
// the log (the first 5, warm-up, left out), and the two runs' losses side by side.
//
//   node --import tsx bench/run.ts train-precision
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const work = join(repo, '.bench-out', 'train-precision');

function run(args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`geoseg ${args.join(' ')} failed (${r.status})`);
}

export async function trainPrecisionBench(): Promise<{ precision: string; itPerSecond: number; lastLoss: number }[]> {
  const iterations = Number(process.env.DP_ITERATIONS ?? 30);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const ds = join(work, 'dataset');
  const dubai = join(repo, 'demo', 'dubai');
  run(['prepare', '--images', join(dubai, 'images'), '--labels', join(dubai, 'masks'), '--classes', join(dubai, 'classes.yaml'), '--out', ds, '--tile', '512', '--overlap', '0.25']);
  const rows = [];
  for (const precision of ['fp32', 'bf16-mixed']) {
    const file = join(work, `${precision}.yaml`);
    writeFileSync(file, stringify({
      out: join(work, precision), data: { dataset: ds, crop: 256, batch: 8 }, model: { arch: 'unet', encoder: 'resnet18' }, loss: 'ce',
      optimizer: { name: 'adam', lr: 0.001 }, augmentation: { hflip: { p: 0.5 } }, eval: { window: 512 },
      train: { iterations, logEvery: 1, checkpointEvery: iterations, seed: 0, threads: 2, precision },
    }));
    run(['train', '--config', file]);
    const lines = readFileSync(join(work, precision, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'train');
    const [a, b] = [lines[4], lines[lines.length - 1]];
    rows.push({ precision, itPerSecond: (b.step - a.step) / (b.elapsedSeconds - a.elapsedSeconds), lastLoss: b.loss as number });
  }
  for (const r of rows) console.log(`train ${r.precision}: ${r.itPerSecond.toFixed(3)} it/s (${(r.itPerSecond / rows[0]!.itPerSecond).toFixed(2)}× fp32), loss at ${iterations}: ${r.lastLoss.toFixed(4)}`);
  return rows;
}
