// A schedule's length fitted to a time budget, on simulated clocks: constant fast and slow
// speeds, speeds that drift, jitter, and periodic validations that count against the budget.
// Each run must end with its schedule complete within ±3% of the budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterIteration, fitLength, recordValidation, startFit, type FitSettings } from '../src/train/fitted-length.js';

interface Simulated { endSeconds: number; length: number; estimates: number; lengths: number[] }

/**
 * Runs the trainer's loop on a simulated clock: iteration k takes secondsAt(k, elapsed / budget);
 * a validation every evalEvery iterations takes validationSeconds.
 */
function simulate(budget: number, secondsAt: (k: number, fraction: number) => number, settings: FitSettings, validationSeconds = 0): Simulated {
  const state = startFit(budget);
  let elapsed = 0;
  let step = 0;
  let pendingValidation = 0;
  while (step < (state.length ?? Infinity) && !(state.length === null && elapsed >= budget)) {
    step++;
    elapsed += secondsAt(step, elapsed / budget) + pendingValidation; // a validation's time lands in the next iteration's interval
    pendingValidation = 0;
    afterIteration(state, step, elapsed, settings);
    if (settings.evalEvery > 0 && step % settings.evalEvery === 0 && step < (state.length ?? Infinity)) {
      recordValidation(state, validationSeconds);
      pendingValidation = validationSeconds;
    }
  }
  return { endSeconds: elapsed, length: state.length ?? step, estimates: state.estimates.length, lengths: state.estimates.map((e) => e.length) };
}

/** A deterministic jitter in [-amplitude, amplitude] (a small LCG). */
function jitter(amplitude: number): (k: number) => number {
  return (k) => {
    const x = Math.sin(k * 12.9898) * 43758.5453;
    return amplitude * (2 * (x - Math.floor(x)) - 1);
  };
}

const within = (r: Simulated, budget: number, what: string) => {
  assert.ok(Math.abs(r.endSeconds - budget) <= 0.03 * budget, `${what}: ended at ${r.endSeconds.toFixed(1)} s of ${budget} s (length ${r.length}, lengths ${r.lengths.join(' ')})`);
};

test('fitLength: the largest length whose projected end, validations included, is within the budget (hand-computed)', () => {
  // step 10 at 10 s, 1 s per iteration, budget 100 s: 90 more iterations
  assert.equal(fitLength(10, 10, 100, 1, 0, 0), 100);
  // validations every 10 iterations of 5 s each, the one at step 10 still due: at 10, 20, …, 60 for a length of 70 (100 s); 71 would add the one at 70 (106 s)
  assert.equal(fitLength(10, 10, 100, 1, 5, 10), 70);
  // the budget already spent: stop now
  assert.equal(fitLength(10, 120, 100, 1, 0, 0), 10);
  // a clock that does not move gives a bounded length
  assert.ok(fitLength(0, 0, 100, 0, 0, 0) <= 1e9);
});

test('a constant speed, fast or slow, ends the schedule within 3% of the budget', () => {
  const none: FitSettings = { evalEvery: 0, warmup: 0 };
  const fast = simulate(1200, () => 0.1, none);
  within(fast, 1200, 'fast (0.1 s/it)');
  assert.ok(Math.abs(fast.length - 12000) <= 2, `fast: length ${fast.length}`);
  const slow = simulate(1200, () => 6, none);
  within(slow, 1200, 'slow (6 s/it)');
  assert.ok(Math.abs(slow.length - 200) <= 1, `slow: length ${slow.length}`);
  // the first iterations are slower (allocation): not measured
  const warm = simulate(600, (k) => (k <= 2 ? 20 : 1), { evalEvery: 0, warmup: 20 });
  within(warm, 600, 'slow first iterations');
  assert.ok(Math.abs(warm.lengths[0] - (warm.length)) <= 2, `the first estimate already right: ${warm.lengths.join(' ')}`);
});

test('the first estimate comes by the end of the warmup, before the decay starts', () => {
  const state = startFit(10_000);
  let elapsed = 0;
  let first = -1;
  for (let k = 1; k <= 30 && first < 0; k++) {
    elapsed += 1;
    if (afterIteration(state, k, elapsed, { evalEvery: 0, warmup: 10 })) first = k;
  }
  assert.equal(first, 10, 'at step 10 (2% of the budget would be step 200)');
  assert.ok(Math.abs(state.length! - 10_000) <= 1);
});

test('drifting speeds are followed: slowing down, speeding up, with jitter', () => {
  const none: FitSettings = { evalEvery: 0, warmup: 20 };
  within(simulate(1200, (_k, f) => 1 + 0.5 * f, none), 1200, 'slowing by half');
  within(simulate(1200, (_k, f) => 1.5 - 0.5 * f, none), 1200, 'speeding up by a third');
  const noise = jitter(0.3);
  within(simulate(1200, (k) => 2 * (1 + noise(k)), none), 1200, '±30% jitter');
  within(simulate(1200, (k, f) => (1 + 0.3 * f) * (1 + noise(k)), none), 1200, 'drift and jitter');
});

test('periodic validations count against the budget', () => {
  const r = simulate(1200, () => 1, { evalEvery: 50, warmup: 0 }, 30);
  within(r, 1200, 'validation every 50 iterations, 30 s each');
  // per 50 iterations: 50 s of training + 30 s of validation: about 1200 / 80 * 50 = 750 iterations
  assert.ok(Math.abs(r.length - 750) <= 30, `length ${r.length}`);
});
