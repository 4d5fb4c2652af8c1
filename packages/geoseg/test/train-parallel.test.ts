// Data-parallel training on c10d (Gloo over loopback, real worker processes): 2 workers × batch 4
// with synchronized batch norm against 1 process × batch 8 on the same 8 crops per step. The
// reference is the single process's own run (a different code path: no process group, no sharding,
// plain batch norm); agreement is within float reduction error (the global batch's sums are taken
// in another order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const gloo = torch.distributed.availableBackends().gloo;

function config(dataset: string, out: string, batch: number, iterations: number, extra = ''): string {
  return `out: ${out}
data: { dataset: ${dataset}, crop: 64, batch: ${batch} }
model: { arch: unet, encoder: resnet18, decoderChannels: [64, 32, 32, 16, 16] }
loss: ce
optimizer: { name: sgd, lr: 0.01, momentum: 0.9 }
augmentation: { hflip: { p: 0.5 }, rot90: { p: 0.5 } }
eval: { window: 128, overlap: 0.25, batch: 4 }
train: { iterations: ${iterations}, logEvery: 1, checkpointEvery: ${iterations}, seed: 7, threads: 1${extra} }
`;
}

const readLog = (run: string) => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const losses = (run: string) => readLog(run).filter((e) => e.type === 'train').map((e) => e.loss as number);

/** The same run in one process × batch 8 and in 2 workers × batch 4 with synchronized batch norm. */
function pair(dir: string, ds: string, iterations: number): { one: string; two: string; stdout: string } {
  const [one, two] = [join(dir, `one-${iterations}`), join(dir, `two-${iterations}`)];
  writeFileSync(`${one}.yaml`, config(ds, one, 8, iterations));
  writeFileSync(`${two}.yaml`, config(ds, two, 4, iterations, ', syncBatchNorm: true'));
  const a = spawnSync(process.execPath, [cli, 'train', '--config', `${one}.yaml`, '--json'], { encoding: 'utf8' });
  assert.equal(a.status, 0, a.stderr);
  const b = spawnSync(process.execPath, [cli, 'train', '--config', `${two}.yaml`, '--nproc', '2', '--json'], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  return { one, two, stdout: b.stdout };
}

/** Largest difference of parameters (absolute) and of running statistics (relative to their size). */
function weightDifferences(a: string, b: string): { parameters: number; runningStats: number } {
  return torch.tidy(() => {
    const wa = torch.loadSafetensors(join(a, 'checkpoints', 'latest', 'model.safetensors'));
    const wb = torch.loadSafetensors(join(b, 'checkpoints', 'latest', 'model.safetensors'));
    assert.deepEqual(Object.keys(wb).sort(), Object.keys(wa).sort());
    let parameters = 0;
    let runningStats = 0;
    for (const [name, t] of Object.entries(wa)) {
      if (!t.isFloatingPoint()) { assert.ok(t.equal(wb[name]!), name); continue; }
      const d = t.sub(wb[name]!).abs().max().item();
      if (name.includes('running_')) runningStats = Math.max(runningStats, d / t.abs().max().item());
      else parameters = Math.max(parameters, d);
    }
    return { parameters, runningStats };
  });
}

slowTest('2 workers × batch 4 with synchronized batch norm take the steps of 1 process × batch 8 on the same crops; rank 0 alone writes the run', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-ddp-'));
  const ds = await tinyDataset(dir);
  // one step: the same update to a few float32 ulps (the batch's sums are taken in another order)
  const first = pair(dir, ds, 1);
  const step1 = weightDifferences(first.one, first.two);
  // (the loss of 8 crops against the mean of two workers' 4: equal on one CPU, an ulp apart on another)
  const [l1, l2] = [losses(first.one)[0]!, losses(first.two)[0]!];
  assert.ok(Math.abs(l1 - l2) <= 1e-6 * Math.abs(l1), `the same first loss: ${l1} and ${l2}`);
  // without synchronized batch norm each worker normalises its own 4 crops: visibly another step
  const plain = join(dir, 'plain-1');
  writeFileSync(`${plain}.yaml`, config(ds, plain, 4, 1));
  assert.equal(spawnSync(process.execPath, [cli, 'train', '--config', `${plain}.yaml`, '--nproc', '2'], { encoding: 'utf8' }).status, 0);
  assert.ok(weightDifferences(first.one, plain).runningStats > 1e-3, 'local batch norm changes the running statistics');
  // six steps: training amplifies those ulps (a one- vs two-thread run of the same process drifts alike)
  const six = pair(dir, ds, 6);
  const summary = JSON.parse(six.stdout); // one JSON object on stdout: rank 0's summary
  assert.equal(summary.steps, 6);
  const log = readLog(six.two);
  assert.deepEqual(log[0].dataParallel, { ranks: 2, batchPerRank: 4, globalBatch: 8, backend: 'gloo' });
  assert.equal(log.filter((e) => e.type === 'train').length, 6, 'one log line per step: rank 0 alone writes');
  assert.deepEqual(readdirSync(join(six.two, 'checkpoints')).sort(), ['best', 'latest']);
  const [a, b] = [losses(six.one), losses(six.two)];
  const lossDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.abs(v)));
  assert.ok(a[5]! < a[0]!, 'it learns');
  console.log(`# after 1 step: parameters within ${step1.parameters.toExponential(2)}, running statistics within ${step1.runningStats.toExponential(2)} (relative); over 6 steps the losses within ${lossDiff.toExponential(2)} (relative)`);
  assert.ok(step1.parameters < 1e-6, `parameters after one step differ by ${step1.parameters}`);
  assert.ok(step1.runningStats < 1e-5, `running statistics after one step differ by ${step1.runningStats}`);
  assert.ok(lossDiff < 2e-3, `losses differ by ${lossDiff}`);
});

slowTest('a worker killed mid-run ends the job: the launcher stops the other and exits non-zero', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-ddp-kill-'));
  const ds = await tinyDataset(dir);
  const run = join(dir, 'run');
  writeFileSync(`${run}.yaml`, config(ds, run, 4, 100000));
  const launcher = spawn(process.execPath, [cli, 'train', '--config', `${run}.yaml`, '--nproc', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  launcher.stderr.on('data', (b) => { stderr += b; });
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  // wait for training to run, then kill one worker outright
  const deadline = Date.now() + 60_000;
  const trainLines = () => { try { return losses(run).length; } catch { return 0; } };
  while (trainLines() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(trainLines() >= 2, 'the job trains');
  const workers = spawnSync('pgrep', ['-P', String(launcher.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
  assert.equal(workers.length, 2, 'two worker processes');
  const killedAt = Date.now();
  process.kill(workers[1]!, 'SIGKILL');
  const code = await exited;
  assert.notEqual(code, 0);
  assert.ok(Date.now() - killedAt < 30_000, `the job ended ${Date.now() - killedAt} ms after the kill`);
  assert.match(stderr, /geoseg: worker \d of 2 exited with SIGKILL; stopping the others/);
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  assert.ok(!alive(workers[0]!), 'the other worker is gone');
});

slowTest('Ctrl-C stops every worker at the same step and rank 0 saves; --resume with workers ends with the weights of an uninterrupted run, bit for bit', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-ddp-resume-'));
  const ds = await tinyDataset(dir);
  const [whole, cut] = [join(dir, 'whole'), join(dir, 'cut')];
  for (const run of [whole, cut]) writeFileSync(`${run}.yaml`, config(ds, run, 4, 12, ', syncBatchNorm: true'));
  assert.equal(spawnSync(process.execPath, [cli, 'train', '--config', `${whole}.yaml`, '--nproc', '2'], { encoding: 'utf8' }).status, 0);
  const launcher = spawn(process.execPath, [cli, 'train', '--config', `${cut}.yaml`, '--nproc', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  const trainLines = () => { try { return losses(cut).length; } catch { return 0; } };
  const deadline = Date.now() + 60_000;
  while (trainLines() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  launcher.kill('SIGINT');
  assert.equal(await exited, 130);
  const log = readLog(cut);
  const end = log[log.length - 1];
  assert.equal(end.type, 'end');
  assert.equal(end.reason, 'interrupted');
  assert.ok(end.step < 12, `stopped at step ${end.step}`);
  assert.ok(!existsSync(join(cut, 'running.json')), 'the run lock is released');
  // a resume with another worker count would change every later step: refused
  const alone = spawnSync(process.execPath, [cli, 'train', '--config', `${cut}.yaml`, '--resume'], { encoding: 'utf8' });
  assert.equal(alone.status, 1);
  assert.match(alone.stderr, /^geoseg: .*latest: trained by 2 workers; resume it with --nproc 2 \(in all\), not 1\n$/);
  const resumed = spawnSync(process.execPath, [cli, 'train', '--config', `${cut}.yaml`, '--nproc', '2', '--resume'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  torch.tidy(() => {
    const a = torch.loadSafetensors(join(whole, 'checkpoints', 'latest', 'model.safetensors'));
    const b = torch.loadSafetensors(join(cut, 'checkpoints', 'latest', 'model.safetensors'));
    const differ = Object.keys(a).filter((k) => !a[k]!.equal(b[k]!));
    assert.deepEqual(differ, [], 'every tensor equal');
  });
});
