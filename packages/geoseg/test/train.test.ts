// Training end to end on a tiny dataset: config errors, learning, eval, exact resume after
// kill -9, Ctrl-C, checkpoint errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { parseTrainConfig, readTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { loadCheckpoint } from '../src/models/checkpoint.js';
import { Raster } from '../src/raster/index.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');

function config(dataset: string, out: string, extra = ''): string {
  return `out: ${out}
data: { dataset: ${dataset}, crop: 64, batch: 4 }
model: { arch: unet, encoder: resnet18, decoderChannels: [64, 32, 32, 16, 16] }
loss: ce
optimizer: { name: adam, lr: 0.002 }
augmentation: { hflip: { p: 0.5 }, rot90: { p: 0.5 }, noise: { p: 0.3, std: [0.01, 0.03] } }
eval: { window: 128, overlap: 0.25, batch: 4 }
${extra}`;
}

test('config errors name the file, the field, the value and what was expected', () => {
  const base = { out: 'o', data: { dataset: 'd' }, train: { iterations: 5 } };
  const bad = (doc: unknown) => {
    try {
      parseTrainConfig(doc, 'run.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(bad({ ...base, optimizer: { lr: -1 } }), 'run.yaml: optimizer.lr: Number must be greater than 0 (got -1)');
  assert.equal(bad({ ...base, optimizer: { lrr: 1 } }), "run.yaml: optimizer: unknown field 'lrr'");
  assert.equal(bad({ ...base, data: { dataset: 'd', crop: 100 } }), 'run.yaml: data.crop: a multiple of 32 (got 100)');
  assert.match(bad({ ...base, train: {} }), /^run\.yaml: train: give iterations or minutes/);
  assert.match(bad({ ...base, optimizer: { name: 'adagrad' } }), /^run\.yaml: optimizer\.name: Invalid enum value\. Expected 'sgd' \| 'adam' \| 'adamw' \| 'radam', received 'adagrad' \(got "adagrad"\)$/);
  assert.match(bad({ ...base, augmentation: { hflip: { p: 1.5 } } }), /^run\.yaml: augmentation\.hflip\.p: .*\(got 1\.5\)$/);
  // relative paths are relative to the config file
  const cfg = parseTrainConfig(base, 'x', '/runs/cfg');
  assert.equal(cfg.out, '/runs/cfg/o');
  assert.equal(cfg.data.dataset, '/runs/cfg/d');
});

test('train learns the tiny dataset; eval agrees with the log; checkpoints are complete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-train-'));
  const ds = await tinyDataset(dir);
  writeFileSync(join(dir, 'run.yaml'), config(ds, join(dir, 'run'), 'train: { iterations: 40, logEvery: 10, evalEvery: 20, checkpointEvery: 20, seed: 3 }'));
  const cfg = readTrainConfig(join(dir, 'run.yaml'));
  const s = await train(cfg);
  assert.equal(s.steps, 40);
  assert.ok(s.lastEval, 'validated at the end');
  assert.ok(s.lastEval!.metrics.mIoU > 0.8, `a colour-coded dataset is learnt (mIoU ${s.lastEval!.metrics.mIoU})`);
  const log = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.filter((e) => e.type === 'train').map((e) => e.step), [10, 20, 30, 40]);
  assert.deepEqual(log.filter((e) => e.type === 'eval').map((e) => e.step), [20, 40]);
  const first = log.find((e) => e.type === 'train'), last = log.filter((e) => e.type === 'train').pop();
  assert.ok(last.loss < first.loss, `loss falls (${first.loss} → ${last.loss})`);
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'meta.json']) assert.ok(existsSync(join(dir, 'run', 'checkpoints', 'latest', f)), f);
  const best = loadCheckpoint(join(dir, 'run'));
  assert.equal(best.dir, join(dir, 'run', 'checkpoints', 'best'));
  assert.equal(best.meta.best!.value, Math.max(...log.filter((e) => e.type === 'eval').map((e) => e.mIoU)));
  best.model.dispose();
  // geoseg eval on the latest checkpoint reproduces the final validation, and its IoUs follow from the pixels it wrote
  assert.deepEqual(log.at(-1), { ...log.at(-1), type: 'end', step: 40, reason: 'finished' }, 'the last log line says the run finished');
  const mapsDir = join(dir, 'run', 'maps');
  const r = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', join(dir, 'run', 'checkpoints', 'latest'), '--data', ds, '--window', '128', '--batch', '4', '--maps', mapsDir, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const ev = JSON.parse(r.stdout);
  assert.deepEqual(ev.matrix, log.filter((e) => e.type === 'eval').pop().matrix);
  assert.equal(ev.matrix.flat().reduce((a: number, b: number) => a + b, 0), 256 * 256, 'every pixel of the validation scene once');
  // --maps: the written prediction and truth rasters, counted pixel by pixel, give eval's matrix; georeferenced like the scene
  assert.deepEqual(ev.maps, [join(mapsDir, 'c')]);
  const manifest = JSON.parse(readFileSync(join(mapsDir, 'c', 'map.json'), 'utf8'));
  assert.deepEqual(manifest.classes.map((c: { name: string }) => c.name), ['red', 'blue']);
  const pred = await Raster.open(join(mapsDir, 'c', manifest.layers.prediction));
  const truth = await Raster.open(join(mapsDir, 'c', manifest.layers.truth));
  const image = await Raster.open(join(mapsDir, 'c', manifest.layers.image));
  try {
    assert.deepEqual(pred.info.geoTransform, [500000, 1, 0, 2800000, 0, -1]);
    assert.equal(pred.info.epsg, 32640);
    assert.equal(image.info.bandCount, 3);
    assert.deepEqual(pred.info.colorTable!.slice(0, 2), [[200, 40, 40, 255], [40, 60, 200, 255]]);
    const all = { x: 0, y: 0, width: 256, height: 256 };
    const p = (await pred.read(all)).data() as Uint8Array, t = (await truth.read(all)).data() as Uint8Array;
    const counted = [[0, 0], [0, 0]];
    for (let i = 0; i < p.length; i++) counted[t[i]][p[i]]++;
    assert.deepEqual(counted, ev.matrix);
    // IoU of each class from the counted pixels: |pred ∩ truth| / |pred ∪ truth|
    const iou = [0, 1].map((c) => {
      let inter = 0, union = 0;
      for (let i = 0; i < p.length; i++) {
        if (p[i] === c && t[i] === c) inter++;
        if (p[i] === c || t[i] === c) union++;
      }
      return inter / union;
    });
    assert.ok(Math.abs(ev.mIoU - (iou[0] + iou[1]) / 2) < 1e-12, `mIoU ${ev.mIoU}, from the counted pixels ${(iou[0] + iou[1]) / 2}`);
    assert.ok(Math.abs(ev.iou[1] - iou[1]) < 1e-12);
  } finally {
    pred.close(); truth.close(); image.close();
  }
  // text output: a per-class table
  const t = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', join(dir, 'run'), '--data', ds, '--window', '128', '--tta', 'flip'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /red/);
  assert.match(t.stdout, /mIoU/);
});

slowTest('a run killed with SIGKILL and resumed reaches the same weights as an uninterrupted run', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-resume-'));
  const ds = await tinyDataset(dir);
  const trainCfg = 'train: { iterations: 20, logEvery: 5, evalEvery: 0, checkpointEvery: 5, seed: 7, threads: 1 }';
  writeFileSync(join(dir, 'a.yaml'), config(ds, join(dir, 'a'), trainCfg));
  writeFileSync(join(dir, 'b.yaml'), config(ds, join(dir, 'b'), trainCfg));
  const full = spawnSync(process.execPath, [cli, 'train', '--config', join(dir, 'a.yaml'), '--json'], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
  // run b: SIGKILL once its checkpoint at step ≥ 5 exists, then resume
  const child = spawn(process.execPath, [cli, 'train', '--config', join(dir, 'b.yaml'), '--json'], { stdio: 'ignore' });
  const meta = join(dir, 'b', 'checkpoints', 'latest', 'meta.json');
  let killedAt = -1;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      try {
        if (existsSync(meta) && JSON.parse(readFileSync(meta, 'utf8')).step >= 5) {
          child.kill('SIGKILL');
          clearInterval(timer);
        }
      } catch { /* being renamed: try again */ }
    }, 5);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      if (signal !== 'SIGKILL') reject(new Error('run b finished before it could be killed'));
      else resolve();
    });
  });
  killedAt = JSON.parse(readFileSync(meta, 'utf8')).step;
  assert.ok(killedAt >= 5 && killedAt < 20, `killed mid-run (checkpoint at ${killedAt})`);
  // the killed run's running.json stays behind, naming its (now dead) process: the viewer says stopped
  assert.equal(JSON.parse(readFileSync(join(dir, 'b', 'running.json'), 'utf8')).pid, child.pid);
  const resumed = spawnSync(process.execPath, [cli, 'train', '--config', join(dir, 'b.yaml'), '--resume', '--json'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).startedAt, killedAt);
  assert.ok(!existsSync(join(dir, 'b', 'running.json')), 'a finished run removes running.json');
  torch.tidy(() => {
    const a = torch.loadSafetensors(join(dir, 'a', 'checkpoints', 'latest', 'model.safetensors'));
    const b = torch.loadSafetensors(join(dir, 'b', 'checkpoints', 'latest', 'model.safetensors'));
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    let worst = 0;
    for (const k of Object.keys(a)) worst = Math.max(worst, a[k].to('float64').sub(b[k].to('float64')).abs().max().item());
    assert.ok(worst <= 1e-6, `max weight difference ${worst}`);
  });
  // the log of the resumed run has every step once
  const entries = readFileSync(join(dir, 'b', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(entries.filter((e) => e.type === 'train').map((e) => e.step), Array.from({ length: 4 }, (_, i) => 5 * (i + 1)));
  assert.deepEqual(entries.filter((e) => e.type === 'eval').map((e) => e.step), [20]);
});

slowTest('SIGINT saves a checkpoint and exits 130; checkpoint errors are one line', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-sigint-'));
  const ds = await tinyDataset(dir);
  writeFileSync(join(dir, 'c.yaml'), config(ds, join(dir, 'c'), 'train: { iterations: 100000, checkpointEvery: 100000, seed: 1 }'));
  const child = spawn(process.execPath, [cli, 'train', '--config', join(dir, 'c.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const log = join(dir, 'c', 'log.jsonl');
  const code = await new Promise<number | null>((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(log) && readFileSync(log, 'utf8').includes('"step":20')) {
        clearInterval(timer);
        child.kill('SIGINT');
      }
    }, 20);
    child.on('exit', (c) => { clearInterval(timer); resolve(c); });
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted; saving a checkpoint/);
  assert.ok(!existsSync(join(dir, 'c', 'running.json')), 'an interrupted run removes running.json');
  const step = JSON.parse(readFileSync(join(dir, 'c', 'checkpoints', 'latest', 'meta.json'), 'utf8')).step;
  assert.ok(step >= 20 && step < 100000);
  // checkpoint errors
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  let r = run(['eval', '--checkpoint', join(dir, 'nothing'), '--data', ds]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `geoseg: ${join(dir, 'nothing')}: no such checkpoint or run folder\n`);
  rmSync(join(dir, 'c', 'checkpoints', 'latest', 'model.safetensors'));
  r = run(['eval', '--checkpoint', join(dir, 'c', 'checkpoints', 'latest'), '--data', ds]);
  assert.equal(r.stderr, `geoseg: ${join(dir, 'c', 'checkpoints', 'latest')}: incomplete checkpoint (model.safetensors is missing)\n`);
  r = run(['train', '--config', join(dir, 'missing.yaml')]);
  assert.match(r.stderr, /^geoseg: .*missing\.yaml: cannot read/);
});

test('--resume of a run stopped before its first checkpoint starts over and equals an uninterrupted run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-train-fresh-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ds = await tinyDataset(dir);
  const config = (name: string) => {
    writeFileSync(join(dir, `${name}.yaml`), `out: ${join(dir, name)}
data: { dataset: ${ds}, crop: 64, batch: 2 }
model: { arch: unet, encoder: resnet18, decoderChannels: [16, 16, 8, 8, 8] }
eval: { window: 128, batch: 2 }
train: { iterations: 2, logEvery: 1, checkpointEvery: 100, seed: 5, threads: 1 }
`);
    return readTrainConfig(join(dir, `${name}.yaml`));
  };
  await train(config('whole'));
  // a run killed before its first checkpoint leaves its config and log, no checkpoints
  await train(config('killed'));
  rmSync(join(dir, 'killed', 'checkpoints'), { recursive: true });
  await assert.rejects(train(config('killed')), /already holds a run/);
  const s = await train(config('killed'), { resume: true });
  assert.equal(s.startedAt, 0);
  const weights = (run: string) => readFileSync(join(dir, run, 'checkpoints', 'latest', 'model.safetensors'));
  assert.ok(weights('killed').equals(weights('whole')));
  const log = readFileSync(join(dir, 'killed', 'log.jsonl'), 'utf8');
  assert.match(log, /no checkpoint yet/);
  assert.equal(log.split('\n').filter((l) => l.includes('"type":"start"')).length, 1, 'the old log was replaced');
});
