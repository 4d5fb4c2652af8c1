import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { gradcheck, randomValues } from './gradcheck.js';

const TOL = 1e-6;

function check(name: string, f: Parameters<typeof gradcheck>[0], shapes: number[][]) {
  const inputs = shapes.map((shape, i) => ({ shape, data: randomValues(shape.reduce((a, b) => a * b, 1), 17 + i) }));
  const { maxAbsError, maxAbs } = gradcheck(f, inputs);
  assert.ok(maxAbs > 1e-3, `${name}: the checked gradient is not trivially zero`);
  assert.ok(maxAbsError < TOL, `${name}: autograd differs from finite differences by ${maxAbsError}`);
}

test('conv2d gradients match finite differences (stride, padding, dilation, groups)', () => {
  check('conv2d plain', ([x, w, b]) => torch.conv2d(x, w, b), [[1, 2, 5, 5], [3, 2, 3, 3], [3]]);
  check('conv2d stride 2 padding 1', ([x, w]) => torch.conv2d(x, w, null, 2, 1), [[2, 2, 6, 5], [2, 2, 3, 3]]);
  check('conv2d dilation 2', ([x, w]) => torch.conv2d(x, w, null, 1, 2, 2), [[1, 1, 7, 7], [2, 1, 3, 3]]);
  check('conv2d groups 2', ([x, w]) => torch.conv2d(x, w, null, 1, 1, 1, 2), [[1, 4, 4, 4], [4, 2, 3, 3]]);
});

test('batch_norm gradients match finite differences (training statistics)', () => {
  check('batch_norm', ([x, w, b]) => torch.batchNorm(x, w, b, null, null, true, 0.1, 1e-5, false), [[3, 2, 3, 3], [2], [2]]);
});

test('bilinear interpolation gradients match finite differences', () => {
  check('upsample_bilinear2d', ([x]) => torch.upsampleBilinear2d(x, [7, 5], false), [[1, 2, 3, 4]]);
  check('upsample_bilinear2d align_corners', ([x]) => torch.upsampleBilinear2d(x, [6, 6], true), [[1, 1, 3, 3]]);
});

test('max_pool2d gradients match finite differences', () => {
  check('max_pool2d', ([x]) => torch.maxPool2d(x, [2, 2], [2, 2]), [[1, 2, 4, 6]]);
  check('max_pool2d padded stride 1', ([x]) => torch.maxPool2d(x, [3, 3], [1, 1], [1, 1]), [[1, 1, 4, 4]]);
});

test('cross_entropy and softmax gradients match finite differences', () => {
  const target = torch.tensor([0, 2, 1, 2], { dtype: 'int64' });
  check('cross_entropy', ([x]) => torch.crossEntropyLoss(x, target), [[4, 3]]);
  const weight = torch.tensor([0.5, 2, 1], { dtype: 'float64' });
  check('cross_entropy with weights and ignore_index', ([x]) => torch.crossEntropyLoss(x, target, weight, 1, 2), [[4, 3]]);
  check('cross_entropy with label smoothing', ([x]) => torch.crossEntropyLoss(x, target, null, 1, -100, 0.1), [[4, 3]]);
  weight.dispose();
  check('softmax', ([x]) => torch.softmax(x, 1), [[3, 4]]);
  check('log_softmax', ([x]) => x.logSoftmax(0), [[3, 4]]);
  target.dispose();
});

test('softmax and cross_entropy equal their closed forms', () => {
  torch.tidy(() => {
    const logits = [[1, 2, 3], [0, 0, Math.log(2)]];
    const x = torch.tensor(logits, { dtype: 'float64' });
    const p = x.softmax(1).toArray() as number[][];
    logits.forEach((row, i) => {
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      row.forEach((v, j) => assert.ok(Math.abs(p[i][j] - Math.exp(v) / z) < 1e-12));
    });
    const ce = torch.crossEntropyLoss(x, torch.tensor([2, 0], { dtype: 'int64' })).item();
    const expected = -(Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3))) + Math.log(1 / 4)) / 2;
    assert.ok(Math.abs(ce - expected) < 1e-12, `${ce} vs ${expected}`);
  });
});

test('backward accumulates, retainGraph, grad setter, isLeaf and gradFn', () => {
  torch.tidy(() => {
    const w = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    assert.equal(w.isLeaf, true);
    assert.equal(w.gradFn, null);
    const y = w.mul(w).sum(); // dy/dw = 2w
    assert.equal(y.gradFn, 'SumBackward0');
    y.backward(null, { retainGraph: true });
    assert.deepEqual(w.grad!.toArray(), [2, 4, 6]);
    y.backward(); // accumulates
    assert.deepEqual(w.grad!.toArray(), [4, 8, 12]);
    assert.throws(() => y.backward(), /backward through the graph a second time/);
    w.grad = null;
    assert.equal(w.grad, null);
    w.grad = torch.zeros([3], { dtype: 'float64' });
    w.mul(3).sum().backward();
    assert.deepEqual(w.grad!.toArray(), [3, 3, 3]);
    const v = w.mul(2);
    v.backward(torch.tensor([1, 0, 1], { dtype: 'float64' }));
    assert.deepEqual(w.grad!.toArray(), [5, 3, 5]);
  });
});

test('noGrad, enableGrad and inferenceMode guards', () => {
  torch.tidy(() => {
    const w = torch.ones([2], { requiresGrad: true });
    assert.equal(torch.isGradEnabled(), true);
    const inside = torch.noGrad(() => {
      assert.equal(torch.isGradEnabled(), false);
      const a = w.mul(2);
      const b = torch.enableGrad(() => w.mul(2));
      return [a.requiresGrad, b.requiresGrad];
    });
    assert.deepEqual(inside, [false, true]);
    assert.equal(torch.isGradEnabled(), true);
    const r = torch.inferenceMode(() => {
      assert.equal(torch.isInferenceModeEnabled(), true);
      return w.mul(2).requiresGrad;
    });
    assert.equal(r, false);
    assert.equal(torch.isInferenceModeEnabled(), false);
    // A throwing block restores the mode.
    assert.throws(() => torch.noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.equal(torch.isGradEnabled(), true);
    assert.throws(() => torch.noGrad(async () => 1), /synchronous/);
    assert.equal(torch.isGradEnabled(), true);
  });
});
