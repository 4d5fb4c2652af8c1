// Recipe search: successive-halving arithmetic, seeded candidates, and `geoseg search` end to end
// on the tiny dataset (rungs 2 → 1, promotion by score, best.yaml a valid run config, an
// interrupted search resumed to exactly the uninterrupted result, refusals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promote, rungSizes, trialMinutes } from '../src/search/halving.js';
import { sampleCandidates, withParam, type SearchSpace } from '../src/search/space.js';
import { isRunFolder } from '../src/server/runs.js';
import { readTrainConfig } from '../src/train/config.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const main = join(repo, 'packages', 'geoseg', 'src', 'cli', 'main.ts');
const geoseg = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { cwd: repo, encoding: 'utf8' });

test('successive halving: rung sizes, equal-budget trial minutes, promotion', () => {
  assert.deepEqual(rungSizes(16, 2), [16, 8, 4, 2, 1]);
  assert.deepEqual(rungSizes(10, 3), [10, 3, 1]);
  assert.deepEqual(rungSizes(5, 2), [5, 2, 1]);
  assert.deepEqual(trialMinutes(60, [16, 8, 4, 2, 1]), [0.75, 1.5, 3, 6, 12]);
  // highest first; ties to the lower candidate; a failed trial (NaN) last
  assert.deepEqual(promote([{ candidate: 0, score: 0.4 }, { candidate: 1, score: NaN }, { candidate: 2, score: 0.5 }, { candidate: 3, score: 0.4 }], 3), [2, 0, 3]);
});

test('candidates: seeded, distinct, valid, inside their ranges; a space too small is refused', () => {
  const space = {
    file: 'space.yaml', seed: 3, trials: 6,
    params: { 'model.arch': ['unet', 'fpn', 'deeplabv3plus'], 'optimizer.lr': { log: [1e-4, 1e-2] }, 'data.crop': { int: [4, 6] }, 'x.y': { range: [0, 1] } },
  } as unknown as SearchSpace;
  // fpn only with crop 6: drawn again otherwise; a choice valid in no combination is refused, not skipped
  const fpnNeeds6 = (p: Record<string, unknown>) => (p['model.arch'] === 'fpn' && p['data.crop'] !== 6 ? 'fpn needs 6' : null);
  const a = sampleCandidates(space, 6, fpnNeeds6);
  assert.deepEqual(sampleCandidates(space, 6, fpnNeeds6), a);
  assert.ok(a.every((p) => fpnNeeds6(p) === null));
  const lists = { ...space, params: { ...space.params, 'model.encoder': ['resnet18', 'mobilenetv2'], 'data.crop': [4, 6] } } as unknown as SearchSpace;
  assert.throws(() => sampleCandidates(lists, 2, (p) => (p['model.encoder'] === 'mobilenetv2' ? "unknown encoder 'mobilenetv2'" : fpnNeeds6(p))),
    /space\.yaml: params\.model\.encoder: the choice "mobilenetv2" is never valid \(unknown encoder 'mobilenetv2'\)/);
  assert.equal(sampleCandidates(lists, 2, fpnNeeds6).length, 2);
  assert.notDeepEqual(sampleCandidates({ ...space, seed: 4 }, 6, () => null), a);
  assert.equal(new Set(a.map((p) => JSON.stringify(p))).size, 6);
  for (const p of a) {
    assert.ok(p['model.arch'] !== 'fpn' || p['data.crop'] === 6);
    assert.ok((p['optimizer.lr'] as number) >= 1e-4 && (p['optimizer.lr'] as number) <= 1e-2);
    assert.ok([4, 5, 6].includes(p['data.crop'] as number));
  }
  // log-uniform: about half of many draws fall below the geometric mean 1e-3
  const many = sampleCandidates({ ...space, params: { lr: { log: [1e-4, 1e-2] } } } as unknown as SearchSpace, 400, () => null);
  const below = many.filter((p) => (p.lr as number) < 1e-3).length;
  assert.ok(below > 160 && below < 240, `${below} of 400 below 1e-3`);
  assert.throws(() => sampleCandidates({ ...space, params: { a: [1, 2] } } as unknown as SearchSpace, 3, () => null), /found only 2 of 6 distinct valid candidates/);
  assert.deepEqual(withParam({ model: { arch: 'unet', encoder: 'resnet18' } }, 'model.arch', 'fpn'), { model: { arch: 'fpn', encoder: 'resnet18' } });
  assert.deepEqual(withParam({}, 'train.seed', 2), { train: { seed: 2 } });
});

slowTest('geoseg search: 2 → 1 trials ranked by validation mIoU, best.yaml; Ctrl-C and --resume give the same search', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-search-'));
  try {
    const dataset = await tinyDataset(dir);
    writeFileSync(join(dir, 'base.yaml'), `out: runs/unused
data: { dataset: ${dataset}, crop: 64, batch: 2 }
model: { arch: unet, encoder: resnet18, decoderChannels: [32, 16, 16, 8, 8] }
loss: ce
optimizer: { name: adam, lr: 0.001 }
eval: { window: 128, overlap: 0.25, batch: 4 }
train: { minutes: 20, logEvery: 4, evalEvery: 0, checkpointEvery: 100, seed: 7, threads: 1 }
`);
    const space = (out: string) => `base: base.yaml\nout: ${out}\nseed: 1\ntrials: 2\neta: 2\nthroughput: 10\nparams:\n  optimizer.lr: { log: [0.0005, 0.02] }\n  loss: [ce, 'ce + 0.5 * dice']\n  data.crop: [32, 64]\n`;
    writeFileSync(join(dir, 'a.yaml'), space('search-a'));
    writeFileSync(join(dir, 'b.yaml'), space('search-b'));
    const budget = '0.2m';

    const a = geoseg('search', '--space', join(dir, 'a.yaml'), '--budget', budget, '--json');
    assert.equal(a.status, 0, a.stderr);
    const sa = JSON.parse(a.stdout);
    assert.deepEqual(sa.rungs, [2, 1]);
    assert.equal(sa.candidates.length, 2);
    const rung = (s: typeof sa, r: number) => s.trials.filter((t: { rung: number }) => t.rung === r);
    assert.deepEqual([0, 1].map((r) => rung(sa, r).length), [2, 1]);
    for (const t of sa.trials) {
      assert.ok(t.mIoU > 0 && t.mIoU <= 1, `trial ${t.run}: ${t.error}`);
      assert.ok(t.iterations >= 1);
      assert.ok(isRunFolder(join(dir, 'search-a', t.run)), `${t.run} is a run folder the viewer lists`);
      const log = readFileSync(join(dir, 'search-a', t.run, 'log.jsonl'), 'utf8');
      assert.match(log, new RegExp(`"step":${t.iterations}\\b`));
    }
    // Promotion: rung 1 holds the best of rung 0 (ties to the lower candidate).
    const top = [...rung(sa, 0)].sort((x, y) => y.mIoU - x.mIoU || x.candidate - y.candidate)[0].candidate;
    assert.equal(rung(sa, 1)[0].candidate, top);
    // A later rung trains a candidate longer (twice the minutes here).
    for (const t of rung(sa, 1)) assert.ok(t.iterations > rung(sa, 0).find((u: { candidate: number }) => u.candidate === t.candidate).iterations);
    // best.yaml: a run config with the winner's settings and the dataset's absolute path.
    const best = readTrainConfig(sa.best.config);
    const winner = sa.candidates[sa.best.candidate];
    assert.equal(sa.best.candidate, top);
    assert.equal(best.optimizer.lr, winner['optimizer.lr']);
    assert.equal(best.data.crop, winner['data.crop']);
    assert.equal(best.data.dataset, dataset);
    assert.equal(best.train.minutes, 20, 'the base config\'s training budget, not a trial\'s');

    // The same search interrupted during rung 1 (Ctrl-C), then resumed: the same trials, scores, best.
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'search', '--space', join(dir, 'b.yaml'), '--budget', budget], { cwd: repo });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/rung 1, candidate/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    assert.equal(code, 130, stderr);
    const mid = JSON.parse(readFileSync(join(dir, 'search-b', 'search.json'), 'utf8'));
    assert.ok(mid.trials.some((t: { mIoU: number | null }) => t.mIoU === null), 'interrupted inside a trial');
    const again = geoseg('search', '--space', join(dir, 'b.yaml'), '--budget', budget);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds a search \(--resume continues it, --overwrite starts over\)/);
    assert.match(geoseg('search', '--space', join(dir, 'b.yaml'), '--budget', '1m', '--resume').stderr, /began with --budget 0.2m, not 1m/);
    const b = geoseg('search', '--space', join(dir, 'b.yaml'), '--budget', budget, '--resume', '--json');
    assert.equal(b.status, 0, b.stderr);
    const sb = JSON.parse(b.stdout);
    const scores = (s: typeof sa) => s.trials.map((t: { rung: number; candidate: number; iterations: number; mIoU: number }) => [t.rung, t.candidate, t.iterations, t.mIoU]);
    assert.deepEqual(scores(sb), scores(sa));
    assert.deepEqual(sb.best.params, sa.best.params);

    // --overwrite draws the new candidates before it removes anything: a space too small for its
    // trials leaves the old search as it was; a changed dataset is not resumed.
    writeFileSync(join(dir, 'a.yaml'), space('search-a').replace(/params:[\s\S]*$/, 'params:\n  loss: [ce]\n'));
    const small = geoseg('search', '--space', join(dir, 'a.yaml'), '--budget', budget, '--overwrite');
    assert.equal(small.status, 1);
    assert.match(small.stderr, /found only 1 of 2 distinct valid candidates/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'search-a', 'search.json'), 'utf8')).trials, sa.trials);
    writeFileSync(join(dataset, 'dataset.json'), readFileSync(join(dataset, 'dataset.json'), 'utf8') + '\n');
    assert.match(geoseg('search', '--space', join(dir, 'b.yaml'), '--budget', budget, '--resume').stderr, /the space file, its base config or the dataset changed/);

    // Bad input: one line naming the field; a bad budget is a usage error.
    writeFileSync(join(dir, 'bad.yaml'), 'base: base.yaml\nout: x\nparams: { optimizer.lr: { log: [0, 1] } }\n');
    const bad = geoseg('search', '--space', join(dir, 'bad.yaml'), '--budget', '1m');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^geoseg: .*bad\.yaml: params\.optimizer\.lr.*lo > 0/);
    assert.equal(geoseg('search', '--space', join(dir, 'a.yaml'), '--budget', 'soon').status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
