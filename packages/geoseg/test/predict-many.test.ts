// Many scenes to an output folder, in one process and shared among 2 data-parallel workers (Gloo
// over loopback): every scene once, each output pixel-identical to a one-scene predict of it;
// --resume skips finished scenes; existing outputs are refused without --overwrite; a tall scene
// shared among the workers in parts gives the same pixels as predicted whole, also when resumed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import * as torch from '@geoseg/torch';
import gdal from 'gdal-async';
import { predict, writeCog } from '../src/index.js';
import { windowGrid } from '../src/infer/window-grid.js';
import { WorkFolder } from '../src/infer/work-folder.js';
import { listMaps } from '../src/server/runs.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBand, readBands } from './helpers/read-raster.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const gloo = torch.distributed.availableBackends().gloo;
const SCENES = ['a', 'b', 'sub/c', 'sub/d', 'e'];
let dir: string;
let checkpoint: string;

const geoseg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const common = ['--window', '64', '--batch', '2', '--threads', '1'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-predict-many-'));
  checkpoint = randomCheckpoint(dir);
  for (const [i, name] of SCENES.entries()) {
    mkdirSync(dirname(join(dir, 'scenes', `${name}.tif`)), { recursive: true });
    await torch.tidy(async () => {
      torch.manualSeed(30 + i);
      await writeCog(join(dir, 'scenes', `${name}.tif`), torch.rand([3, 96 + 32 * i, 160]).mul(255).to('uint8'), { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640' });
    });
  }
  // the reference: each scene alone
  for (const name of SCENES) {
    mkdirSync(dirname(join(dir, 'single', `${name}.tif`)), { recursive: true });
    const r = geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes', `${name}.tif`), '--output', join(dir, 'single', `${name}.tif`), '--confidence', join(dir, 'single', `${name}.confidence.tif`), ...common);
    assert.equal(r.status, 0, r.stderr);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sameAsSingle = (out: string) => {
  for (const name of SCENES) assert.deepEqual(readBand(join(out, `${name}.tif`)), readBand(join(dir, 'single', `${name}.tif`)), name);
};

test('a folder of scenes in one process: one output per scene, as predicting each alone; an existing output is refused', () => {
  const out = join(dir, 'one');
  const r = geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes'), '--output-dir', out, '--vectors', 'gpkg', '--with', 'confidence,probabilities', '--map', ...common, '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.scenes, 5);
  assert.equal(s.predicted.length, 5);
  sameAsSingle(out);
  // --map: a manifest per scene beside its classes, its layers relative to it, each listed by geoseg serve
  for (const name of SCENES) {
    const manifest = JSON.parse(readFileSync(join(out, `${name}.map.json`), 'utf8'));
    const at = (rel: string) => resolve(dirname(join(out, name)), rel);
    assert.equal(at(manifest.layers.prediction), join(out, `${name}.tif`), `${name}: prediction layer`);
    assert.equal(at(manifest.layers.image), join(dir, 'scenes', `${name}.tif`), `${name}: image layer`);
    assert.equal(at(manifest.layers.confidence), join(out, `${name}.confidence.tif`), `${name}: confidence layer`);
  }
  assert.deepEqual(listMaps([out]).map((m) => m.title).sort(), SCENES.map((n) => `${n.split('/').pop()}.tif`).sort());
  for (const name of SCENES) {
    assert.deepEqual(readBand(join(out, `${name}.confidence.tif`)), readBand(join(dir, 'single', `${name}.confidence.tif`)), `${name} confidence`);
    assert.ok(existsSync(join(out, `${name}.probabilities.tif`)), `${name} probabilities`);
  }
  assert.equal(geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes'), '--output-dir', join(dir, 'w'), '--with', 'logits').status, 2);
  assert.equal(geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes', 'a.tif'), '--output', join(dir, 'w.tif'), '--with', 'confidence').status, 2);
  assert.ok(existsSync(join(out, 'sub', 'c.gpkg')));
  const again = geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes'), '--output-dir', out, ...common);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^geoseg: .*a\.tif: already exists \(pass --overwrite to replace it\)\n$/);
  const bad = geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes'), '--output-dir', out, '--confidence', 'x.tif');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^geoseg: --confidence is for one scene/);
});

slowTest('2 workers share the scenes (a glob) through the store: each scene once, the same pixels; --resume skips finished scenes', { skip: !gloo && 'no Gloo in this build' }, () => {
  const out = join(dir, 'two');
  const r = geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes', '**', '*.tif'), '--output-dir', out, '--nproc', '2', ...common, '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout); // one JSON object: rank 0's report
  assert.equal(s.predicted.length, 5);
  assert.deepEqual(s.predicted.map((p: { input: string }) => p.input).sort(), SCENES.map((n) => join(dir, 'scenes', `${n}.tif`)).sort(), 'every scene once');
  assert.deepEqual([...new Set(s.predicted.map((p: { worker: number }) => p.worker))].sort(), [0, 1], 'both workers took scenes');
  sameAsSingle(out);
  assert.deepEqual(readdirSync(out).filter((f) => f.includes('geoseg-partial')), [], 'no work folders left');
  // a finished job resumed: nothing to do
  rmSync(join(out, 'e.tif'));
  const resumed = geoseg('predict', '--checkpoint', checkpoint, '--input', join(dir, 'scenes'), '--output-dir', out, '--nproc', '2', '--resume', ...common, '--json');
  assert.equal(resumed.status, 0, resumed.stderr);
  const rs = JSON.parse(resumed.stdout);
  assert.equal(rs.skipped.length, 4);
  assert.deepEqual(rs.predicted.map((p: { output: string }) => p.output), [join(out, 'e.tif')]);
  sameAsSingle(out);
});

slowTest('a worker killed outright with no launcher (torchrun-style ranks): rank 0 stops waiting after the heartbeat timeout; --resume finishes', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const scenes = join(dir, 'big');
  mkdirSync(scenes);
  for (let i = 0; i < 3; i++) {
    await torch.tidy(async () => {
      torch.manualSeed(50 + i);
      await writeCog(join(scenes, `s${i}.tif`), torch.rand([3, 384, 384]).mul(255).to('uint8'));
    });
  }
  const out = join(dir, 'killed');
  const port = await new Promise<number>((res) => { const srv = createServer().listen(0, () => { const p = (srv.address() as AddressInfo).port; srv.close(() => res(p)); }); });
  const worker = (rank: number) => spawn(process.execPath, [cli, 'predict', '--checkpoint', checkpoint, '--input', scenes, '--output-dir', out, ...common, '--json'], {
    env: { ...process.env, RANK: String(rank), WORLD_SIZE: '2', LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), GEOSEG_HEARTBEAT_SECONDS: '3' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const [r0, r1] = [worker(0), worker(1)];
  let stderr0 = '';
  r0.stderr!.on('data', (d) => { stderr0 += d; });
  const exit0 = new Promise<number | null>((res) => r0.on('exit', res));
  // once both are at work (two scenes' work folders), rank 1 dies without a word
  for (let t = 0; t < 600; t++) {
    const busy = existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.geoseg-partial')).length : 0;
    if (busy >= 2) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  r1.kill('SIGKILL');
  const code = await exit0;
  assert.equal(code, 1, stderr0);
  assert.match(stderr0, /geoseg: worker 1 has given no sign of life for 3 s .*--resume/);
  const resumed = geoseg('predict', '--checkpoint', checkpoint, '--input', scenes, '--output-dir', out, '--resume', ...common, '--json');
  assert.equal(resumed.status, 0, resumed.stderr);
  for (let i = 0; i < 3; i++) assert.ok(existsSync(join(out, `s${i}.tif`)));
});

/** A vector output's polygons: class and geometry of each, in order. */
function polygons(path: string): string[] {
  const ds = gdal.open(path);
  const out = ds.layers.get(0).features.map((f) => `${JSON.stringify(f.fields.toObject())} ${f.getGeometry()?.toJSON()}`);
  ds.close();
  return out;
}

slowTest('a tall scene in parts among 2 workers: the pixels, extras and polygons of the scene predicted whole; parts left by dead workers resume to them', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const tall = join(dir, 'tall');
  mkdirSync(tall);
  await torch.tidy(async () => {
    torch.manualSeed(70);
    await writeCog(join(tall, 't.tif'), torch.rand([3, 720, 160]).mul(255).to('uint8'), { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640' });
  });
  const ref = join(dir, 'tall-whole');
  mkdirSync(ref);
  const whole = geoseg('predict', '--checkpoint', checkpoint, '--input', join(tall, 't.tif'), '--output', join(ref, 't.tif'), '--confidence', join(ref, 't.confidence.tif'),
    '--probabilities', join(ref, 't.probabilities.tif'), '--vector', join(ref, 't.gpkg'), ...common);
  assert.equal(whole.status, 0, whole.stderr);
  const sameAsWhole = (out: string) => {
    for (const kind of ['', '.confidence', '.probabilities']) assert.deepEqual(readBands(join(out, `t${kind}.tif`)), readBands(join(ref, `t${kind}.tif`)), `t${kind}.tif`);
    assert.deepEqual(polygons(join(out, 't.gpkg')), polygons(join(ref, 't.gpkg')));
    assert.deepEqual(readdirSync(out).filter((f) => f.includes('geoseg-')), [], 'no work folders or locks left');
  };
  const manyArgs = (out: string) => ['predict', '--checkpoint', checkpoint, '--input', tall, '--output-dir', out, '--with', 'confidence,probabilities', '--vectors', 'gpkg', '--part-rows', '3', ...common, '--json'];
  const parts = Math.round(windowGrid(160, 720, 64, 0.25).ys.length / 3);
  assert.ok(parts >= 4, `${parts} parts`);

  const out = join(dir, 'tall-two');
  const two = geoseg(...manyArgs(out), '--nproc', '2');
  assert.equal(two.status, 0, two.stderr);
  assert.equal(JSON.parse(two.stdout).predicted[0].parts, parts);
  sameAsWhole(out);
  // alone, the scene is predicted whole (no parts)
  const alone = geoseg(...manyArgs(join(dir, 'tall-one')));
  assert.equal(alone.status, 0, alone.stderr);
  assert.equal(JSON.parse(alone.stdout).predicted[0].parts, 1);

  // what workers killed between parts leave: parts 0 and 2 finished, part 1 stopped after one window row, the rest not begun
  const cut = join(dir, 'tall-cut');
  mkdirSync(cut);
  WorkFolder.prepareParts(join(cut, '.t.tif.geoseg-partial'), parts, windowGrid(160, 720, 64, 0.25).ys.length, { resume: false });
  const partOf = (index: number, shouldStop?: () => boolean) => predict({
    checkpoint, input: join(tall, 't.tif'), output: join(cut, 't.tif'), confidence: join(cut, 't.confidence.tif'), probabilities: join(cut, 't.probabilities.tif'),
    vector: join(cut, 't.gpkg'), window: 64, batch: 2, part: { index, count: parts }, shouldStop,
  });
  for (const index of [0, 2]) assert.equal((await partOf(index)).stopped, false);
  assert.equal((await partOf(1, () => true)).stopped, true);
  assert.deepEqual(readdirSync(cut).filter((f) => !f.startsWith('.')), [], 'no outputs before every part is done');
  // a one-scene predict neither resumes the parts (it says how) nor starts over under a live part
  const one = (...extra: string[]) => geoseg('predict', '--checkpoint', checkpoint, '--input', join(tall, 't.tif'), '--output', join(cut, 't.tif'), ...common, ...extra);
  const asWhole = one('--resume');
  assert.equal(asWhole.status, 1);
  assert.match(asWhole.stderr, /^geoseg: .*t\.tif: was being predicted in \d+ parts by several workers; continue it with geoseg predict --output-dir … --resume/);
  const partLock = join(cut, '.t.tif.geoseg-lock.part-3');
  writeFileSync(partLock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
  const underPart = one();
  assert.equal(underPart.status, 1);
  assert.match(underPart.stderr, new RegExp(`another geoseg predict \\(pid ${process.pid},.*is writing this output`));
  rmSync(partLock);
  assert.equal(readdirSync(join(cut, '.t.tif.geoseg-partial')).filter((f) => f.startsWith('part-')).length, 3, 'the parts are kept');
  // parts cut for 64-pixel windows do not resume with 96-pixel ones (another window grid)
  const otherWindow = geoseg(...manyArgs(cut).map((a) => (a === '64' ? '96' : a)), '--resume');
  assert.equal(otherWindow.status, 1);
  assert.match(otherWindow.stderr, /^geoseg: .*t\.tif: its parts were cut with other window options; run without --resume to start over\n$/);
  assert.equal(readdirSync(join(cut, '.t.tif.geoseg-partial')).filter((f) => f.startsWith('part-')).length, 3, 'the parts are kept');
  // one process continues the parts (the layout the work folder has), then 2 workers find nothing left to do
  const resumed = geoseg(...manyArgs(cut), '--resume');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).predicted[0].parts, parts);
  sameAsWhole(cut);
  const again = geoseg(...manyArgs(cut), '--resume', '--nproc', '2');
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout).skipped, [join(tall, 't.tif')]);
});
