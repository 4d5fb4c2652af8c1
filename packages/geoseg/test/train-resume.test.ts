// geoseg train killed with SIGKILL at random moments (mid-iteration, mid-checkpoint, before the
// first checkpoint, in the final evaluation) and resumed each time ends with the weights and
// optimizer state of an uninterrupted run, byte for byte, and leaves no temporary folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
// GEOSEG_CLI runs the test against another build (e.g. the code before a change).
const cli = process.env.GEOSEG_CLI ?? join(here, '..', 'dist', 'cli', 'main.js');
const ITERATIONS = 24;

function config(dataset: string, out: string): string {
  return `out: ${out}
data: { dataset: ${dataset}, crop: 64, batch: 2 }
model: { arch: unet, encoder: resnet18, decoderChannels: [32, 16, 16, 8, 8] }
loss: ce
optimizer: { name: adam, lr: 0.002 }
scheduler: { name: poly }
augmentation: { hflip: { p: 0.5 }, rot90: { p: 0.5 }, noise: { p: 0.3, std: [0.01, 0.03] } }
eval: { window: 128, overlap: 0.25, batch: 4 }
train: { iterations: ${ITERATIONS}, logEvery: 4, evalEvery: 0, checkpointEvery: 2, seed: 7, threads: 1 }
`;
}

/** The step of the run's current checkpoint (latest, or latest.old between the swap's renames), or -1. */
function checkpointStep(run: string): number {
  for (const c of ['latest', 'latest.old']) {
    try {
      return JSON.parse(readFileSync(join(run, 'checkpoints', c, 'meta.json'), 'utf8')).step;
    } catch { /* not there (or being swapped) */ }
  }
  return -1;
}

slowTest('train killed with SIGKILL at random moments and resumed each time ends with the weights of an uninterrupted run, byte for byte', {}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-train-resume-'));
  const ds = await tinyDataset(dir);
  writeFileSync(join(dir, 'a.yaml'), config(ds, join(dir, 'a')));
  writeFileSync(join(dir, 'b.yaml'), config(ds, join(dir, 'b')));
  const full = spawnSync(process.execPath, [cli, 'train', '--config', join(dir, 'a.yaml'), '--json'], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
  const b = join(dir, 'b');

  // The first kill after a random delay (often before the first checkpoint); then each once the
  // checkpoint reaches a random later step, plus a random few ms (mid-iteration or mid-write);
  // one as soon as a checkpoint is being written (its temporary folder appears); the last once
  // the final checkpoint is due (the final evaluation, the last save).
  const kills: string[] = [];
  let finished = false;
  const writing = () => existsSync(join(b, 'checkpoints')) && readdirSync(join(b, 'checkpoints')).some((f) => f.endsWith('.tmp') && !stale.has(f));
  let stale = new Set<string>();
  for (let attempt = 0; attempt < 6 && !finished; attempt++) {
    const before = checkpointStep(b);
    const midWrite = attempt === 3;
    const target = attempt === 0 ? -1 : attempt === 5 ? ITERATIONS - 2 : before + 2 + 2 * Math.floor(Math.random() * (ITERATIONS - before) / 6);
    const jitter = midWrite ? 0 : Math.round(Math.random() * (target < 0 ? 4000 : 300));
    stale = new Set(existsSync(join(b, 'checkpoints')) ? readdirSync(join(b, 'checkpoints')) : []);
    // Like a user: resume when there is a checkpoint, else start over.
    if (before < 0) rmSync(b, { recursive: true, force: true });
    const child = spawn(process.execPath, [cli, 'train', '--config', join(dir, 'b.yaml'), '--json', ...(before >= 0 ? ['--resume'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const poll = setInterval(() => {
      if (midWrite ? !writing() : target >= 0 && checkpointStep(b) < target) return;
      clearInterval(poll);
      setTimeout(() => child.kill('SIGKILL'), jitter);
    }, 5);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearInterval(poll);
    kills.push(`${midWrite ? 'writing' : target < 0 ? 'random' : `step≥${target}`}+${jitter}ms→${signal === 'SIGKILL' ? `checkpoint ${checkpointStep(b)}` : 'finished'}`);
    if (signal !== 'SIGKILL') {
      assert.equal(code, 0, `attempt ${attempt} (kills ${kills}): ${stderr}`);
      finished = true;
    }
  }
  if (!finished) {
    const last = spawnSync(process.execPath, [cli, 'train', '--config', join(dir, 'b.yaml'), '--json', ...(checkpointStep(b) >= 0 ? ['--resume'] : [])], { encoding: 'utf8' });
    assert.equal(last.status, 0, `after kills ${kills}: ${last.stderr}`);
  }
  t.diagnostic(`kills (target, delay → checkpoint after the kill, of ${ITERATIONS}): ${kills.join(', ')}`);
  assert.ok(kills.filter((k) => /checkpoint \d+$/.test(k) && !k.endsWith(` ${ITERATIONS}`)).length >= 3, `killed mid-run several times: ${kills}`);
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    const same = readFileSync(join(dir, 'a', 'checkpoints', 'latest', f)).equals(readFileSync(join(b, 'checkpoints', 'latest', f)));
    assert.ok(same, `${f} differs from the uninterrupted run's (kills ${kills})`);
  }
  assert.equal(JSON.parse(readFileSync(join(b, 'checkpoints', 'latest', 'meta.json'), 'utf8')).step, ITERATIONS);
  // every logged step once, one final evaluation, no temporary checkpoint folders left
  const entries = readFileSync(join(b, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(entries.filter((e) => e.type === 'train').map((e) => e.step), Array.from({ length: ITERATIONS / 4 }, (_, i) => 4 * (i + 1)));
  assert.deepEqual(entries.filter((e) => e.type === 'eval').map((e) => e.step), [ITERATIONS]);
  assert.deepEqual(readdirSync(join(b, 'checkpoints')).sort(), ['best', 'latest'], `checkpoint folders (kills ${kills})`);
  assert.ok(!existsSync(join(b, 'running.json')));
  rmSync(dir, { recursive: true, force: true });
});
