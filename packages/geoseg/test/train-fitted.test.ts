// geoseg train with train.minutes alone: the schedule's length is fitted to the budget on an
// injected clock; the lr follows poly over the fitted length; a run killed mid-fit and resumed
// continues the recorded schedule exactly; iterations and minutes together: the clock ends the
// run early and the log says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig, type TrainConfig } from '../src/train/config.js';
import { train, type TrainOptions } from '../src/train/trainer.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

function config(dataset: string, out: string, trainFields: Record<string, unknown>, warmup = 4): TrainConfig {
  return parseTrainConfig({
    out, data: { dataset, crop: 64, batch: 2 },
    model: { arch: 'unet', encoder: 'resnet18', decoderChannels: [16, 16, 8, 8, 8] },
    optimizer: { name: 'adam', lr: 0.01 },
    scheduler: { name: 'poly', power: 0.9, warmup },
    eval: { window: 128, overlap: 0.25, batch: 4 },
    train: { logEvery: 1, evalEvery: 0, checkpointEvery: 5, seed: 3, threads: 1, ...trainFields },
  }, 'run.yaml');
}

/**
 * A simulated clock: iteration k takes secondsAt(k). The trainer reads the clock when its loop
 * starts and after each iteration, then asks whether to stop: that is when the clock moves on.
 */
function simulatedClock(secondsAt: (k: number) => number, killAt = Infinity): Pick<TrainOptions, 'clock' | 'shouldStop'> {
  let now = 1000;
  let k = 0;
  let started = false;
  return {
    clock: () => {
      const t = now;
      if (!started) {
        started = true;
        now += secondsAt(1);
      }
      return t;
    },
    shouldStop: () => {
      k++;
      if (k === killAt) throw new Error('killed');
      now += secondsAt(k + 1);
      return false;
    },
  };
}

type Entry = { type: string; step: number; lr?: number; length?: number; final?: boolean; reason?: string; message?: string; elapsedSeconds?: number };
const round = (x: number) => Math.round(x * 1e6) / 1e6;
const logOf = (out: string): Entry[] => readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('train.minutes alone: the fitted length ends the run within 3% of the budget and poly decays over it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-fitted-'));
  const ds = await tinyDataset(dir);
  // 3 s per iteration, 1.5 minutes: 30 iterations
  const cfg = config(ds, join(dir, 'run'), { minutes: 1.5 });
  const s = await train(cfg, simulatedClock(() => 3));
  assert.equal(s.endReason, 'finished');
  assert.equal(s.scheduleLength, 30);
  assert.equal(s.steps, 30);
  assert.ok(Math.abs(s.trainSeconds - 90) <= 0.03 * 90, `ended at ${s.trainSeconds} s of 90`);
  const log = logOf(cfg.out);
  const estimates = log.filter((e) => e.type === 'schedule');
  assert.ok(estimates.length >= 3, `re-estimated ${estimates.length} times`);
  // after 5 iterations (2 unmeasured, 3 measured): the lr of iteration 6, the first decayed one, already uses it
  assert.equal(estimates[0].step, 5, 'the first estimate right after the warmup');
  assert.ok(estimates.every((e) => e.length === 30) && estimates.at(-1)!.final);
  // after iteration t (t ≥ warmup) the lr is 0.01 · (1 − (t − 4) / (30 − 4))^0.9
  for (const e of log.filter((x) => x.type === 'train' && x.step >= 4)) {
    const want = 0.01 * (1 - (e.step - 4) / 26) ** 0.9;
    assert.ok(Math.abs(e.lr! - want) <= 1e-12 + 1e-9 * want, `step ${e.step}: lr ${e.lr} ≠ ${want}`);
  }
  assert.equal(log.at(-1)!.type, 'end');
  assert.equal((log.at(-1) as { scheduleLength: number }).scheduleLength, 30);
  const meta = JSON.parse(readFileSync(join(cfg.out, 'checkpoints', 'latest', 'meta.json'), 'utf8'));
  assert.equal(meta.fit.length, 30, 'the length is in the checkpoint');
});

slowTest('a run killed mid-fit on a drifting clock resumes to exactly the uninterrupted run', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-fitted-resume-'));
  const ds = await tinyDataset(dir);
  // slowing from 2 s to about 3 s per iteration: each estimate gives a different length
  const drift = (k: number) => 2 + k / 30;
  const a = config(ds, join(dir, 'a'), { minutes: 1.2 });
  const full = await train(a, simulatedClock(drift));
  const lengths = logOf(a.out).filter((e) => e.type === 'schedule').map((e) => e.length);
  assert.ok(new Set(lengths).size > 1, `the estimates follow the drift: ${lengths.join(' ')}`);

  const b = config(ds, join(dir, 'b'), { minutes: 1.2 });
  await assert.rejects(train(b, simulatedClock(drift, 13)), /killed/); // after the checkpoint at 10, before the final estimate
  const checkpointed = JSON.parse(readFileSync(join(b.out, 'checkpoints', 'latest', 'meta.json'), 'utf8'));
  assert.equal(checkpointed.step, 10);
  assert.equal(checkpointed.fit.estimates.at(-1).final, false, 'killed before the length was final');
  // the resumed run's clock starts anywhere: only the iterations' durations count
  const resumed = await train(b, { ...simulatedClock((k) => drift(k + 10)), resume: true });
  assert.equal(resumed.steps, full.steps);
  assert.equal(resumed.scheduleLength, full.scheduleLength);
  // (seconds summed from another starting point differ in the last bits; the logged it/s and data wait are real time, not the simulated clock's)
  const entries = (out: string) => logOf(out).filter((e) => e.type === 'schedule' || e.type === 'train')
    .map((e) => JSON.stringify(e.type === 'train' ? [e.step, (e as { loss?: number }).loss, e.lr, round(e.elapsedSeconds!)]
      : { ...e, time: undefined, elapsedSeconds: round(e.elapsedSeconds!), secondsPerIteration: round((e as { secondsPerIteration: number }).secondsPerIteration) }));
  assert.deepEqual(entries(b.out), entries(a.out), 'the same estimates, losses and lrs');
  const weights = (out: string) => readFileSync(join(out, 'checkpoints', 'latest', 'model.safetensors'));
  assert.ok(weights(b.out).equals(weights(a.out)), 'the same weights, byte for byte');
});

test('iterations and minutes together: the schedule follows iterations, the clock ends the run early, the log says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-fitted-both-'));
  const ds = await tinyDataset(dir);
  const cfg = config(ds, join(dir, 'run'), { iterations: 40, minutes: 0.1 }, 0);
  const s = await train(cfg, simulatedClock(() => 1)); // 6 s: 6 iterations of 40
  assert.equal(s.endReason, 'budget');
  assert.equal(s.scheduleLength, 40);
  assert.ok(s.steps >= 6 && s.steps <= 7, `stopped at ${s.steps}`);
  const log = logOf(cfg.out);
  assert.ok(!log.some((e) => e.type === 'schedule'), 'no fitting');
  const note = log.find((e) => e.type === 'note');
  assert.match(note?.message ?? '', /the 0\.1-minute budget ended the run at iteration \d+ of 40: the schedule did not finish/);
  // poly over all 40 iterations
  const first = log.find((e) => e.type === 'train' && e.step === 3)!;
  assert.ok(Math.abs(first.lr! - 0.01 * (1 - 3 / 40) ** 0.9) < 1e-12);
});
