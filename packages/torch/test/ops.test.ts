import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

const close = (a: number[], b: number[], tol = 1e-6) =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol);

test('arithmetic, matmul and reductions equal hand-computed values', () => {
  torch.tidy(() => {
    const a = torch.tensor([[1, 2], [3, 4]]);
    const b = torch.tensor([[5, 6], [7, 8]]);
    assert.deepEqual(a.add(b).toArray(), [[6, 8], [10, 12]]);
    assert.deepEqual(a.add(b, { alpha: 2 }).toArray(), [[11, 14], [17, 20]]);
    assert.deepEqual(a.add(1).toArray(), [[2, 3], [4, 5]]);
    assert.deepEqual(a.sub(b).toArray(), [[-4, -4], [-4, -4]]);
    assert.deepEqual(a.mul(0.5).toArray(), [[0.5, 1], [1.5, 2]]);
    assert.deepEqual(a.matmul(b).toArray(), [[19, 22], [43, 50]]);
    assert.deepEqual(torch.mm(a, b).toArray(), [[19, 22], [43, 50]]);
    assert.equal(a.sum().item(), 10);
    assert.deepEqual(a.sum([1]).toArray(), [3, 7]);
    assert.deepEqual(a.sum(0, true).shape, [1, 2]);
    assert.deepEqual(a.mean({ dim: [0], keepdim: false }).toArray(), [2, 3]);
    assert.deepEqual(a.sum([0], false, { dtype: 'float64' }).dtype, 'float64');
    assert.deepEqual(a.argmax(1).toArray(), [1, 1]);
    assert.deepEqual(a.t().toArray(), [[1, 3], [2, 4]]);
    assert.deepEqual(a.reshape([4]).toArray(), [1, 2, 3, 4]);
    assert.deepEqual(a.view([-1]).shape, [4]);
    assert.deepEqual(torch.cat([a, b], 1).shape, [2, 4]);
    assert.deepEqual(torch.stack([a, b]).shape, [2, 2, 2]);
    assert.deepEqual(torch.where(a.gt(2), a, b).toArray(), [[5, 6], [3, 4]]);
    assert.deepEqual(a.clamp(2, 3).toArray(), [[2, 2], [3, 3]]);
    assert.deepEqual(a.clamp(null, 2).toArray(), [[1, 2], [2, 2]]);
    assert.ok(close(a.pow(2).sqrt().data() as any, [1, 2, 3, 4]));
  });
});

test('conv2d on a hand-computed case', () => {
  torch.tidy(() => {
    // 3x3 input, 2x2 kernel of ones, no padding: each output is the sum of a 2x2 window.
    const x = torch.arange(9, { dtype: 'float32' }).reshape([1, 1, 3, 3]);
    const w = torch.ones([1, 1, 2, 2]);
    assert.deepEqual(torch.conv2d(x, w).toArray(), [[[[8, 12], [20, 24]]]]);
    // stride as a single int expands to [2, 2] as in PyTorch; padding 1 zero-pads.
    assert.deepEqual(torch.conv2d(x, w, null, 2, 1).toArray(), [[[[0, 3], [9, 24]]]]);
    assert.deepEqual(torch.conv2d(x, w, torch.tensor([1]), { padding: [0, 0] }).toArray(), [[[[9, 13], [21, 25]]]]);
  });
});

test('tuple, list, int and dtype returns', () => {
  torch.tidy(() => {
    const x = torch.tensor([[1, 5, 3], [7, 2, 9]]);
    const [values, indices] = torch.max(x, 1);
    assert.deepEqual(values.toArray(), [5, 9]);
    assert.deepEqual(indices.toArray(), [1, 2]);
    assert.equal(indices.dtype, 'int64');
    const parts = x.split(1, 1);
    assert.equal(parts.length, 3);
    assert.deepEqual(parts[2].toArray(), [[3], [9]]);
    assert.equal(x.numel(), 6);
    assert.equal(x.isContiguous(), true);
    assert.equal(torch.resultType(x, 1.5), 'float32');
    assert.equal(torch.promoteTypes('int32', 'float64'), 'float64');
  });
});

test('in-place ops return the same JS object and change it', () => {
  torch.tidy(() => {
    const x = torch.zeros([3]);
    const r = x.add_(2);
    assert.equal(r, x);
    assert.deepEqual(x.toArray(), [2, 2, 2]);
    x.mul_(torch.tensor([1, 2, 3]));
    assert.deepEqual(x.toArray(), [2, 4, 6]);
    const y = x.view([3, 1]);
    y.zero_();
    assert.deepEqual(x.toArray(), [0, 0, 0], 'a view shares storage');
  });
});

test('torch.ops.call reaches any operator by schema name', () => {
  torch.tidy(() => {
    const a = torch.tensor([1, 2]);
    assert.deepEqual(torch.ops.call('aten::add.Tensor', a, a).toArray(), [2, 4]);
    assert.deepEqual(torch.ops.call('aten::mul', a, 3).toArray(), [3, 6]);
    assert.ok(torch.ops.schemas().some((s) => s.name === 'aten::conv2d'));
    assert.throws(() => torch.ops.call('aten::no_such_op', a), /unknown operator 'aten::no_such_op'/);
  });
});

test('bad arguments throw readable errors and the process keeps working', () => {
  torch.tidy(() => {
    const a = torch.ones([2, 3]);
    const b = torch.ones([4, 5]);
    // wrong type: names the op, the argument, what was expected and what was given
    assert.throws(() => torch.conv2d(a, 'x' as any), (e: Error) =>
      /aten::conv2d/.test(e.message) && /argument 'weight' \(position 2\) must be Tensor, got string/.test(e.message));
    // shape mismatch: libtorch's own message with the op name
    assert.throws(() => a.matmul(b), /aten::matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
    // wrong dtype
    assert.throws(() => torch.crossEntropyLoss(a, torch.zeros([2])), /aten::cross_entropy_loss: .*(Long|Float)/);
    // unknown option name
    assert.throws(() => a.sum({ dims: [0] } as any), /unknown name in the options object/);
    // null where a tensor is required
    assert.throws(() => torch.add(null as any, a), /argument 'self' .* got null/);
    // non-integer where an int is required
    assert.throws(() => a.softmax(0.5 as any), /argument 'dim' .* must be integer/);
    // disposed tensor
    const d = torch.ones([2]);
    d.dispose();
    d.dispose(); // idempotent
    assert.equal(d.isDisposed, true);
    assert.throws(() => a.add(d), /argument 'other' \(position 2\) is a disposed tensor/);
    assert.throws(() => d.shape, /Tensor.shape: tensor was disposed/);
    assert.throws(() => d.item(), /Tensor.item: tensor was disposed/);
    assert.equal(String(d), 'Tensor(disposed)');
    // item on a multi-element tensor
    assert.throws(() => a.item(), /has 6 elements, expected exactly 1/);
    // still alive
    assert.deepEqual(a.add(1).sum().item(), 12);
  });
});
