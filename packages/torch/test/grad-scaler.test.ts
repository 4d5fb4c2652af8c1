// torch.amp.GradScaler against PyTorch's rules, worked out by hand: a step with an inf/NaN
// gradient is skipped and halves the scale; growthInterval clean steps in a row double it; the
// gradients the optimizer sees are the unscaled ones; misuse is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

test('GradScaler: skipped steps on inf/NaN, backoff and growth intervals, unscaled gradients, state dict', () => {
  torch.tidy(() => {
    const w = torch.tensor([1, 2], { dtype: 'float32' }).requiresGrad_(true);
    const opt = new torch.optim.SGD([w], { lr: 0.5 });
    const scaler = new torch.amp.GradScaler({ initScale: 1024, growthInterval: 3 });
    // one iteration: loss = sum(w · c); c holding an inf makes the gradient inf
    const iteration = (c: number[], by = scaler) => {
      opt.zeroGrad();
      const loss = w.mul(torch.tensor(c, { dtype: 'float32' })).sum();
      by.scale(loss).backward();
      const scaled = w.grad!.clone();
      by.unscale_(opt);
      const unscaled = w.grad!.clone();
      const stepped = by.step(opt);
      by.update();
      return { stepped, scaled: scaled.toArray() as number[], unscaled: unscaled.toArray() as number[] };
    };
    const first = iteration([1, -1]);
    assert.deepEqual(first.scaled, [1024, -1024], 'backward of the scaled loss');
    assert.deepEqual(first.unscaled, [1, -1], 'the optimizer sees the true gradient');
    assert.deepEqual(w.toArray(), [0.5, 2.5]);
    // PyTorch's rule: a clean step counts; the growthInterval-th in a row doubles the scale
    assert.equal(scaler.getScale(), 1024);
    assert.equal(scaler.getGrowthTracker(), 1);
    iteration([1, 1]);
    assert.deepEqual([scaler.getScale(), scaler.getGrowthTracker()], [1024, 2]);
    iteration([1, 1]); // the 3rd clean step: the scale doubles, the tracker restarts
    assert.deepEqual([scaler.getScale(), scaler.getGrowthTracker()], [2048, 0]);
    const before = w.toArray();
    const skipped = iteration([Infinity, 1]);
    assert.equal(skipped.stepped, false, 'an inf gradient skips the step');
    assert.deepEqual(w.toArray(), before, 'the weights are unchanged');
    assert.deepEqual([scaler.getScale(), scaler.getGrowthTracker()], [1024, 0], 'and the scale backs off');
    assert.equal(iteration([NaN, 1]).stepped, false, 'NaN too');
    assert.equal(scaler.getScale(), 512);
    iteration([1, 1]);
    iteration([1, 1]);
    const state = scaler.stateDict();
    assert.deepEqual(state, { scale: 512, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3, _growth_tracker: 2 });
    // a resumed scaler continues exactly: the next clean step grows the scale
    const resumed = new torch.amp.GradScaler({ growthInterval: 3 });
    resumed.loadStateDict(state);
    assert.deepEqual([resumed.getScale(), resumed.getGrowthTracker()], [512, 2]);
    iteration([1, 1], resumed);
    assert.deepEqual([resumed.getScale(), resumed.getGrowthTracker()], [1024, 0]);
    iteration([1, 1]);
    assert.equal(scaler.getScale(), 1024, 'as the original does');
    assert.throws(() => resumed.loadStateDict({ ...state, scale: 0 }), /not a scaler's/);
    assert.throws(() => new torch.amp.GradScaler({ growthInterval: 2 }).loadStateDict(state), /growth_interval is 3 in the state, 2 here/);
  });
});

test('GradScaler: a grown scale stays finite; misuse is refused; disabled, it is a pass-through', () => {
  torch.tidy(() => {
    const w = torch.tensor([1], { dtype: 'float32' }).requiresGrad_(true);
    const opt = new torch.optim.SGD([w], { lr: 0.1 });
    const big = new torch.amp.GradScaler({ initScale: 2 ** 127, growthInterval: 1 });
    w.mul(1).sum().backward();
    big.step(opt);
    big.update();
    assert.equal(big.getScale(), 2 ** 127, 'growing past float32 range keeps the old scale');
    const scaler = new torch.amp.GradScaler();
    opt.zeroGrad();
    scaler.scale(w.sum()).backward();
    scaler.unscale_(opt);
    assert.throws(() => scaler.unscale_(opt), /already been called/);
    scaler.step(opt);
    assert.throws(() => scaler.step(opt), /already been called/);
    scaler.update();
    assert.throws(() => scaler.update(), /no inf checks/);
    // no gradient at all: nothing was checked
    const unused = torch.tensor([3], { dtype: 'float32' }).requiresGrad_(true);
    assert.throws(() => new torch.amp.GradScaler().step(new torch.optim.SGD([unused], { lr: 0.1 })), /no inf checks were recorded/);
    // a float16 loss is scaled in float32 (65536 × 2 would overflow float16's 65504)
    assert.equal(scaler.scale(torch.tensor([2], { dtype: 'float16' })).dtype, 'float32');
    assert.equal(scaler.scale(torch.tensor([2], { dtype: 'float16' })).item(), 2 * scaler.getScale());
    const off = new torch.amp.GradScaler({ enabled: false });
    const loss = w.sum();
    assert.equal(off.scale(loss), loss);
    assert.equal(off.getScale(), 1);
    assert.throws(() => new torch.amp.GradScaler({ backoffFactor: 1.5 }), /backoffFactor/);
  });
});
