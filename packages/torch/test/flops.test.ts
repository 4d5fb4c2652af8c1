// countFlops: convolutions and matrix products counted at the dispatcher, against closed forms
// (2 FLOPs per multiply-add).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

test('convolutions: strides, padding, dilation and groups, transposed, 1-D; against the closed form', () => {
  torch.tidy(() => {
    const x = torch.randn([2, 8, 33, 20]);
    // out = floor((in + 2p − d(k−1) − 1) / s) + 1; FLOPs = 2 · N · Cout · Hout · Wout · Cin/g · kh · kw
    const conv = (w: torch.Tensor, s: number, p: number, d: number, g: number) => torch.countFlops(() => torch.conv2d(x, w, null, s, p, d, g)).convolution;
    const out = (i: number, k: number, s: number, p: number, d: number) => Math.floor((i + 2 * p - d * (k - 1) - 1) / s) + 1;
    assert.equal(conv(torch.randn([16, 8, 3, 3]), 1, 1, 1, 1), 2 * 2 * 16 * 33 * 20 * 8 * 9);
    assert.equal(conv(torch.randn([16, 8, 3, 3]), 2, 1, 1, 1), 2 * 2 * 16 * out(33, 3, 2, 1, 1) * out(20, 3, 2, 1, 1) * 8 * 9);
    assert.equal(conv(torch.randn([12, 2, 3, 3]), 1, 2, 2, 4), 2 * 2 * 12 * out(33, 3, 1, 2, 2) * out(20, 3, 1, 2, 2) * 2 * 9);
    assert.equal(conv(torch.randn([8, 1, 3, 3]), 1, 0, 1, 8), 2 * 2 * 8 * 31 * 18 * 9, 'depthwise');
    const up = torch.countFlops(() => torch.convTranspose2d(x, torch.randn([8, 4, 2, 2]), null, 2)).convolution;
    assert.equal(up, 2 * 2 * 8 * 33 * 20 * 4 * 4, 'transposed: every input value meets Cout · kh · kw weights');
    const conv1d = new torch.nn.Conv1d(8, 6, 3, { padding: 1 });
    assert.equal(torch.countFlops(() => conv1d.forward(torch.randn([3, 8, 50]))).convolution, 2 * 3 * 6 * 50 * 8 * 3);
    // backward: the input's and the weight's gradients each cost the forward's products; an input
    // that needs no gradient costs nothing
    const w = torch.randn([16, 8, 3, 3], { requiresGrad: true });
    const forward = 2 * 2 * 16 * 33 * 20 * 8 * 9;
    const y = torch.conv2d(x, w, null, 1, 1).sum();
    assert.equal(torch.countFlops(() => y.backward()).convolution, forward);
    const xg = x.clone().requiresGrad_(true);
    const z = torch.conv2d(xg, w, null, 1, 1).sum();
    assert.equal(torch.countFlops(() => z.backward()).convolution, 2 * forward);
  });
});

test('matrix products: mm, bmm, matmul, linear (2-D and batched), einsum; nested counts add up; backward products count', () => {
  torch.tidy(() => {
    const a = torch.randn([5, 7]), b = torch.randn([7, 9]);
    assert.equal(torch.countFlops(() => a.mm(b)).matmul, 2 * 5 * 7 * 9);
    assert.equal(torch.countFlops(() => torch.randn([4, 5, 7]).bmm(torch.randn([4, 7, 3]))).matmul, 2 * 4 * 5 * 7 * 3);
    assert.equal(torch.countFlops(() => torch.randn([2, 3, 5, 7]).matmul(torch.randn([7, 9]))).matmul, 2 * 30 * 7 * 9);
    const linear = new torch.nn.Linear(7, 9);
    assert.equal(torch.countFlops(() => linear.forward(a)).matmul, 2 * 5 * 7 * 9, 'addmm');
    assert.equal(torch.countFlops(() => linear.forward(torch.randn([4, 6, 7]))).matmul, 2 * 24 * 7 * 9);
    assert.equal(torch.countFlops(() => torch.einsum('bij,bjk->bik', [torch.randn([3, 4, 5]), torch.randn([3, 5, 6])])).matmul, 2 * 3 * 4 * 5 * 6);
    // under autocast an op is recorded twice (the cast call inside the autocast kernel): counted once
    assert.equal(torch.countFlops(() => torch.autocast({}, () => a.mm(b))).matmul, 630);
    assert.equal(torch.countFlops(() => torch.autocast({}, () => torch.randn([4, 5, 7]).bmm(torch.randn([4, 7, 3])))).matmul, 2 * 4 * 5 * 7 * 3);
    assert.equal(torch.countFlops(() => torch.autocast({}, () => torch.conv2d(torch.randn([1, 3, 8, 8]), torch.randn([4, 3, 3, 3]), null, 1, 1))).convolution, 2 * 4 * 64 * 27);
    // a throwing fn leaves no count open
    assert.throws(() => torch.countFlops(() => { a.mm(b); throw new Error('inside'); }), /inside/);
    assert.equal(torch.countFlops(() => a.mm(b)).matmul, 630);
    // elementwise ops count nothing; an inner count adds to the outer one
    const outer = torch.countFlops(() => {
      a.add(a).relu();
      const inner = torch.countFlops(() => a.mm(b));
      assert.equal(inner.total, 630);
      return a.mm(b);
    });
    assert.equal(outer.matmul, 2 * 630);
    // backward: a · w needs only w's gradient, aᵀ · grad (one product of the forward's size)
    const w = torch.randn([7, 9], { requiresGrad: true });
    const y = a.mm(w).sum();
    assert.equal(torch.countFlops(() => y.backward()).matmul, 630);
    assert.throws(() => torch.countFlops(() => Promise.resolve(1)), /synchronous/);
  });
});
