// geoseg predict killed with SIGKILL at random moments and resumed, again and again, ends with
// exactly the pixels of an uninterrupted run (classes, confidence, probabilities), and leaves
// no temporary files behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { writeCog } from '../src/raster/index.js';
import { predict } from '../src/infer/predict.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { readBands as readAll } from './helpers/read-raster.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
// GEOSEG_CLI runs the test against another build (e.g. the code before a change).
const cli = process.env.GEOSEG_CLI ?? join(here, '..', 'dist', 'cli', 'main.js');
let dir = '';
let checkpoint = '';
let input = '';
const HEIGHT = 1920;

/** Pixels that differ between two rasters of the same size, over all bands. */
function differing(a: string, b: string): number {
  const [pa, pb] = [readAll(a), readAll(b)];
  assert.equal(pa.length, pb.length);
  let n = 0;
  pa.forEach((band, k) => band.forEach((v, i) => { if (v !== pb[k][i]) n++; }));
  return n;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-predict-resume-'));
  checkpoint = randomCheckpoint(dir);
  input = join(dir, 'scene.tif');
  // 40 window rows of 6 windows (64 px, 0.25 overlap): many rows to be killed in
  await torch.tidy(async () => {
    torch.manualSeed(5);
    const img = torch.rand([3, HEIGHT, 256]).mul(255).to('uint8');
    await writeCog(input, img, { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640' });
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));


const args = (name: string) => ['predict', '--checkpoint', checkpoint, '--input', input, '--output', join(dir, `${name}.tif`),
  '--confidence', join(dir, `${name}-conf.tif`), '--probabilities', join(dir, `${name}-prob.tif`), '--window', '64', '--batch', '2', '--threads', '1', '--json'];

/**
 * A kill after the run had finished but before its process ended: a resume finds the outputs in
 * place and the work folder gone, and refuses to replace them (the outputs are compared after).
 */
const doneBefore = (code: number | null, stderr: string) => code !== 0 && /already exists \(pass --overwrite/.test(stderr) && !existsSync(join(dir, '.resumed.tif.geoseg-partial'));

/** Scene rows an interrupted run has recorded as done (from its work folder's state). */
function rowsDone(name: string): number {
  try {
    const state = JSON.parse(readFileSync(join(dir, `.${name}.tif.geoseg-partial`, 'state.json'), 'utf8'));
    return state.chunks?.at(-1)?.y1 ?? state.flushedTo ?? 0;
  } catch {
    return 0;
  }
}

/** The uninterrupted run (full*.tif), made once for the tests that compare with it. */
function ensureFull(): void {
  if (existsSync(join(dir, 'full.tif'))) return;
  const full = spawnSync(process.execPath, [cli, ...args('full')], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
}

slowTest('predict killed with SIGKILL at random moments and resumed each time gives the pixels of an uninterrupted run; no temporary files left', {}, async (t) => {
  ensureFull();

  // Eight kills: the first after a random delay (often before any row is done), six at random
  // moments of the prediction (each once a random share of the remaining rows is recorded, plus
  // a random few ms, so the kill lands anywhere in a row's work or its chunk's writing), the last
  // at a random moment after all rows are done (assembling the COGs, renaming them into place).
  // Each attempt after the first resumes.
  const kills: string[] = [];
  let finished = false;
  for (let attempt = 0; attempt < 8 && !finished; attempt++) {
    const before = rowsDone('resumed');
    const target = attempt === 0 ? -1 : attempt === 7 ? HEIGHT : before + 1 + Math.floor(Math.random() * (HEIGHT - before) * 0.35);
    const jitter = Math.round(Math.random() * (target < 0 ? 2500 : attempt === 7 ? 150 : 40));
    const child = spawn(process.execPath, [cli, ...args('resumed'), ...(attempt > 0 ? ['--resume'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const poll = setInterval(() => {
      if (target >= 0 && rowsDone('resumed') < target) return;
      clearInterval(poll);
      setTimeout(() => child.kill('SIGKILL'), jitter);
    }, 5);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearInterval(poll);
    kills.push(`${target < 0 ? 'random' : `rows≥${target}`}+${jitter}ms→${signal === 'SIGKILL' ? rowsDone('resumed') : 'finished'}`);
    // An output is at its path only when complete: whatever a kill left there is the full result.
    for (const suffix of ['', '-conf', '-prob']) {
      const at = join(dir, `resumed${suffix}.tif`);
      if (existsSync(at)) assert.equal(differing(join(dir, `full${suffix}.tif`), at), 0, `${at} after kills ${kills}`);
    }
    if (signal !== 'SIGKILL') {
      assert.ok(code === 0 || doneBefore(code, stderr), `attempt ${attempt} (kills ${kills}): exit ${code}: ${stderr}`);
      finished = true;
    }
  }
  if (!finished) {
    const last = spawnSync(process.execPath, [cli, ...args('resumed'), '--resume'], { encoding: 'utf8' });
    assert.ok(last.status === 0 || doneBefore(last.status, last.stderr), `after kills ${kills}: ${last.stderr}`);
  }
  t.diagnostic(`kills (target, delay → rows recorded after the kill, of ${HEIGHT}): ${kills.join(', ')}`);
  assert.ok(kills.filter((k) => !k.endsWith('finished')).length >= 6, `at least six kills: ${kills}`);
  for (const suffix of ['', '-conf', '-prob']) {
    const n = differing(join(dir, `full${suffix}.tif`), join(dir, `resumed${suffix}.tif`));
    assert.equal(n, 0, `resumed${suffix}.tif: ${n} pixel values differ from the uninterrupted run (kills ${kills})`);
  }
  const left = readdirSync(dir).filter((f) => f.startsWith('.'));
  assert.deepEqual(left, [], `temporary files left behind (kills ${kills})`);
});

slowTest('a fresh run over an interrupted one removes its work folder; a resume of a finished output refuses without --overwrite', {}, async () => {
  ensureFull();
  const child = spawn(process.execPath, [cli, ...args('fresh')], { stdio: 'ignore' });
  const work = join(dir, '.fresh.tif.geoseg-partial');
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
    const timer = setInterval(() => { if (existsSync(join(work, 'state.json'))) { clearInterval(timer); child.kill('SIGKILL'); } }, 10);
    child.on('exit', (_c, s) => { clearInterval(timer); resolve(s); });
  });
  assert.equal(signal, 'SIGKILL', 'the run was killed while working');
  assert.ok(existsSync(work), 'the killed run left its work folder');
  const fresh = spawnSync(process.execPath, [cli, ...args('fresh')], { encoding: 'utf8' });
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.ok(!existsSync(work), 'a finished run removes the work folder');
  assert.equal(differing(join(dir, 'full.tif'), join(dir, 'fresh.tif')), 0);
  const again = spawnSync(process.execPath, [cli, ...args('fresh'), '--resume'], { encoding: 'utf8' });
  assert.notEqual(again.status, 0);
  assert.equal(again.stderr, `geoseg: ${join(dir, 'fresh.tif')}: already exists (pass --overwrite to replace it)\n`);
});

test('a work folder holding files geoseg did not make is never deleted', async () => {
  const out = join(dir, 'foreign.tif');
  const work = join(dir, '.foreign.tif.geoseg-partial');
  mkdirSync(work);
  writeFileSync(join(work, 'notes.txt'), 'mine');
  for (const resume of [false, true]) {
    await assert.rejects(predict({ checkpoint, input, output: out, window: 64, resume }), (e: Error) => {
      assert.equal(e.message, `${work}: is not a geoseg work folder (it holds notes.txt); move it away`);
      return true;
    });
  }
  assert.equal(readFileSync(join(work, 'notes.txt'), 'utf8'), 'mine');
  assert.ok(!existsSync(out));
  rmSync(work, { recursive: true });
});

test('one predict per output: a live holder of the output\'s lock is named and nothing is written; a dead one is taken over', async () => {
  const small = join(dir, 'small.tif');
  await torch.tidy(async () => writeCog(small, torch.rand([3, 64, 64]).mul(255).to('uint8')));
  const out = join(dir, 'locked.tif');
  const lock = join(dir, '.locked.tif.geoseg-lock');
  // this test process stands in for a predict that is running
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 'then' }));
  await assert.rejects(predict({ checkpoint, input: small, output: out, window: 64 }), new RegExp(`locked\\.tif: another geoseg predict \\(pid ${process.pid}, started then\\) is writing this output; wait for it or stop it`));
  assert.ok(!existsSync(out) && !existsSync(join(dir, '.locked.tif.geoseg-partial')), 'nothing written');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(lock, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), startedAt: 'then' }));
  await predict({ checkpoint, input: small, output: out, window: 64 });
  assert.ok(existsSync(out) && !existsSync(lock), 'predicted; the lock released');
});
