// Never destroy what geoseg did not make (issue 15): outputs that exist are replaced only with
// --overwrite, a folder without the marker its command writes is never deleted, a run folder
// holds one trainer at a time, and polygons of a scene without georeference claim no CRS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { writeCog } from '../src/index.js';
import { vectorize } from '../src/infer/vectorize.js';
import { openRunFolder } from '../src/train/run-lock.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const geoseg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

/** A refusal: non-zero exit, nothing on stdout, one `geoseg: ` line on stderr matching `pattern`. */
function refused(r: ReturnType<typeof geoseg>, pattern: RegExp): void {
  assert.notEqual(r.status, 0, `expected a refusal, got exit 0: ${r.stdout}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

const RUN = (dataset: string, out: string, train = 'train: { iterations: 2, logEvery: 1, evalEvery: 0, checkpointEvery: 1, seed: 1, threads: 1 }') => `out: ${out}
data: { dataset: ${dataset}, crop: 64, batch: 2 }
model: { arch: unet, encoder: resnet18, decoderChannels: [16, 16, 16, 16, 16] }
loss: ce
eval: { window: 128, overlap: 0, batch: 4 }
${train}
`;

test('prepare --out: a file or a foreign folder is never replaced; an existing dataset only with --overwrite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-out-'));
  await tinyDataset(dir, ['a', 'b']);
  const prep = (out: string, ...extra: string[]) => geoseg('prepare', '--images', join(dir, 'images'), '--labels', join(dir, 'labels'),
    '--classes', join(dir, 'classes.yaml'), '--out', out, '--tile', '256', ...extra);
  // a file
  writeFileSync(join(dir, 'notes.txt'), 'my notes');
  for (const extra of [[], ['--overwrite']]) refused(prep(join(dir, 'notes.txt'), ...extra), /^geoseg: .*notes\.txt: is a file, not a prepared dataset folder/);
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'my notes');
  // a folder that is not a dataset
  mkdirSync(join(dir, 'mine'));
  writeFileSync(join(dir, 'mine', 'thesis.tex'), 'chapter 1');
  for (const extra of [[], ['--overwrite']]) {
    refused(prep(join(dir, 'mine'), ...extra), /^geoseg: .*mine: is not a prepared dataset made by geoseg \(no dataset\.json\); geoseg never deletes it, even with --overwrite/);
  }
  assert.deepEqual(readdirSync(join(dir, 'mine')), ['thesis.tex']);
  // an empty folder is no output yet
  mkdirSync(join(dir, 'empty'));
  assert.equal(prep(join(dir, 'empty')).status, 0);
  assert.ok(existsSync(join(dir, 'empty', 'dataset.json')));
  // an existing dataset: refused, untouched; replaced with --overwrite
  const before = readFileSync(join(dir, 'ds', 'dataset.json'), 'utf8');
  refused(prep(join(dir, 'ds')), /^geoseg: .*ds: already exists \(pass --overwrite to replace it\)$/m);
  assert.equal(readFileSync(join(dir, 'ds', 'dataset.json'), 'utf8'), before);
  const r = prep(join(dir, 'ds'), '--overwrite');
  assert.equal(r.status, 0, r.stderr);
  assert.notEqual(readFileSync(join(dir, 'ds', 'dataset.json'), 'utf8'), before, 'replaced');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temporary folders left');
});

slowTest('stats --plot and eval --maps replace an existing output only with --overwrite, and never a foreign folder', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-out-'));
  const ds = await tinyDataset(dir, ['a', 'b']);
  // stats --plot
  const png = join(dir, 'classes.png');
  writeFileSync(png, 'not a chart');
  refused(geoseg('stats', ds, '--plot', png), /^geoseg: .*classes\.png: already exists \(pass --overwrite to replace it\)$/m);
  assert.equal(readFileSync(png, 'utf8'), 'not a chart');
  assert.equal(geoseg('stats', ds, '--plot', png, '--overwrite').status, 0);
  assert.equal(gdal.open(png).driver.description, 'PNG');
  refused(geoseg('stats', ds, '--plot', dir, '--overwrite'), /is a folder, not a file/);
  // eval --maps (a 2-iteration run gives a checkpoint)
  writeFileSync(join(dir, 'run.yaml'), RUN(ds, join(dir, 'run')));
  assert.equal(geoseg('train', '--config', join(dir, 'run.yaml'), '--json').status, 0);
  const evalMaps = (maps: string, ...extra: string[]) => geoseg('eval', '--checkpoint', join(dir, 'run'), '--data', ds, '--window', '128', '--maps', maps, ...extra);
  const maps = join(dir, 'maps');
  assert.equal(evalMaps(maps).status, 0);
  assert.ok(existsSync(join(maps, 'b', 'map.json')) && existsSync(join(maps, 'eval.json')));
  refused(evalMaps(maps), /^geoseg: .*maps: already exists \(pass --overwrite to replace it\)$/m);
  writeFileSync(join(maps, 'b', 'my-notes.txt'), 'x');
  assert.equal(evalMaps(maps, '--overwrite').status, 0);
  assert.ok(!existsSync(join(maps, 'b', 'my-notes.txt')) && existsSync(join(maps, 'b', 'map.json')), 'replaced as a whole');
  refused(evalMaps(join(dir, 'images'), '--overwrite'), /images: is not a folder of evaluation maps made by geoseg \(no eval\.json\); geoseg never deletes it, even with --overwrite/);
  assert.deepEqual(readdirSync(join(dir, 'images')), ['a.tif', 'b.tif']);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temporary folders left');
});

test('train: a folder holding a run needs --resume or --overwrite; a foreign folder is never cleared', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-out-'));
  const ds = await tinyDataset(dir, ['a', 'b']);
  writeFileSync(join(dir, 'run.yaml'), RUN(ds, join(dir, 'run')));
  const trainRun = (...extra: string[]) => geoseg('train', '--config', join(dir, 'run.yaml'), '--json', ...extra);
  assert.equal(trainRun().status, 0);
  const log = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8');
  const model = readFileSync(join(dir, 'run', 'checkpoints', 'latest', 'model.safetensors'));
  refused(trainRun(), /^geoseg: .*run: already holds a run \(pass --resume to continue it or --overwrite to start it over\)$/m);
  assert.equal(readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8'), log, 'the log is untouched');
  assert.ok(readFileSync(join(dir, 'run', 'checkpoints', 'latest', 'model.safetensors')).equals(model), 'the checkpoint is untouched');
  refused(trainRun('--resume', '--overwrite'), /--resume continues the run and --overwrite starts it over/);
  // --overwrite starts over: the old run's files are gone, the user's file beside them is kept
  writeFileSync(join(dir, 'run', 'notes.txt'), 'keep me');
  const r = trainRun('--overwrite');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).startedAt, 0);
  assert.equal(readFileSync(join(dir, 'run', 'notes.txt'), 'utf8'), 'keep me');
  // a folder with a log.jsonl of its own (no config.json) is not a run: refused even with --overwrite
  mkdirSync(join(dir, 'other'));
  writeFileSync(join(dir, 'other', 'log.jsonl'), 'my server log\n');
  writeFileSync(join(dir, 'other.yaml'), RUN(ds, join(dir, 'other')));
  for (const extra of [[], ['--overwrite']]) {
    refused(geoseg('train', '--config', join(dir, 'other.yaml'), ...extra), /other: holds log\.jsonl but no config\.json, so it is not a geoseg run; geoseg never replaces it, even with --overwrite/);
  }
  assert.equal(readFileSync(join(dir, 'other', 'log.jsonl'), 'utf8'), 'my server log\n');
  // a file as out
  writeFileSync(join(dir, 'file.yaml'), RUN(ds, join(dir, 'notes.txt')));
  writeFileSync(join(dir, 'notes.txt'), 'x');
  refused(geoseg('train', '--config', join(dir, 'file.yaml'), '--overwrite'), /notes\.txt: is a file, not a run folder/);
});

test('the run lock: exclusive, a live holder is named, a dead one on this host is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-lock-'));
  const out = join(dir, 'run');
  const lock = join(out, 'running.json');
  // in one process: the second opener is refused with this process's pid
  const close = openRunFolder(out);
  assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, process.pid);
  assert.throws(() => openRunFolder(out), new RegExp(`another geoseg train \\(pid ${process.pid}, started .*\\) is training this run folder`));
  close();
  assert.ok(!existsSync(out), 'released; the folder it made and left empty is removed');
  mkdirSync(out);
  // a lock from another machine cannot be judged: refused, with what to do
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'x' }));
  assert.throws(() => openRunFolder(out), /a geoseg train on host elsewhere \(pid 1\) holds this run folder; if it is gone, delete .*running\.json/);
  // the lock of a dead process (and a malformed one) is taken over
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  for (const stale of [JSON.stringify({ pid: Number(dead.stdout), host: hostname(), startedAt: 'x' }), '{"pid": ']) {
    writeFileSync(lock, stale);
    openRunFolder(out)();
  }
  assert.deepEqual(readdirSync(out), [], 'no lock or temporary file left');
  // two trainers at once through the CLI: the second is refused naming the first's pid
  const ds = await tinyDataset(join(dir, 'data'), ['a', 'b']);
  writeFileSync(join(dir, 'long.yaml'), RUN(ds, out, 'train: { iterations: 100000, logEvery: 1, evalEvery: 0, checkpointEvery: 100000, seed: 1, threads: 1 }'));
  const first = spawn(process.execPath, [cli, 'train', '--config', join(dir, 'long.yaml')], { stdio: 'ignore' });
  try {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (existsSync(join(out, 'log.jsonl')) && readFileSync(join(out, 'log.jsonl'), 'utf8').includes('"step":1,')) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    refused(geoseg('train', '--config', join(dir, 'long.yaml'), '--overwrite'), new RegExp(`another geoseg train \\(pid ${first.pid}, started .*\\) is training this run folder`));
    assert.ok(existsSync(join(out, 'config.json')), "the first trainer's run is untouched");
  } finally {
    first.kill('SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
  }
  // its lock is stale now: a new trainer takes the folder over
  assert.ok(existsSync(lock), 'a killed trainer leaves its lock behind');
  writeFileSync(join(dir, 'short.yaml'), RUN(ds, out));
  const r = geoseg('train', '--config', join(dir, 'short.yaml'), '--overwrite', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(lock));
});

test('polygons of a scene without georeference are written without a geographic CRS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-vec-'));
  const classes = join(dir, 'classes.tif');
  await torch.tidy(() => {
    const c = torch.zeros([1, 64, 64], { dtype: 'uint8' });
    c.narrow(1, 10, 20).narrow(2, 10, 20).fill_(1);
    return writeCog(classes, c); // no CRS, no geotransform
  });
  const gpkg = join(dir, 'classes.gpkg');
  assert.equal(await vectorize(classes, gpkg, [{ id: 0, name: 'a' }, { id: 1, name: 'b' }], { simplify: 0, nodata: null, overwrite: false }), 2);
  const v = gdal.open(gpkg);
  try {
    const srs = v.layers.get(0).srs;
    assert.ok(!srs || !srs.isGeographic(), `no geographic CRS (got ${srs?.toWKT()})`);
    const sql = v.executeSQL('SELECT srs_id FROM gpkg_geometry_columns');
    assert.equal(sql.features.first().fields.get('srs_id'), -1, "GeoPackage's undefined Cartesian SRS");
    v.releaseSQL?.(sql);
  } finally {
    v.close();
  }
});
