// CPU autocast (bfloat16) through libtorch's own autocast dispatch: which ops change dtype, the
// state restored on every exit, exact results where bfloat16 is exact, float32 gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

test('autocast: matrix products and convolutions run in bfloat16, additions stay float32; nesting and errors restore the state', () => {
  torch.tidy(() => {
    // small integers: their products are exact in bfloat16 (8 significant bits)
    const a = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    const inside = torch.autocast({ dtype: 'bfloat16' }, () => {
      assert.equal(torch.isAutocastEnabled(), true);
      const p = a.matmul(a);
      assert.equal(p.dtype, 'bfloat16');
      assert.deepEqual(Array.from(p.float().reshape([-1]).toArray()), [7, 10, 15, 22]);
      assert.equal(a.add(a).dtype, 'float32', 'not on the lower-precision list');
      assert.equal(torch.autocast({ enabled: false }, () => a.matmul(a).dtype), 'float32', 'a nested region turns it off');
      assert.equal(torch.isAutocastEnabled(), true, 'and the outer region is back');
      return p.dtype;
    });
    assert.equal(inside, 'bfloat16');
    assert.equal(torch.isAutocastEnabled(), false);
    assert.equal(a.matmul(a).dtype, 'float32');
    assert.throws(() => torch.autocast({}, () => { throw new Error('inside'); }), /inside/);
    assert.equal(torch.isAutocastEnabled(), false, 'restored after a throw');
    assert.throws(() => torch.autocast({}, async () => 1), /autocast: the function returned a Promise/);
    assert.equal(torch.isAutocastEnabled(), false);
  });
});

test('autocast on cuda: its own state (CPU ops unchanged inside), restored after; float16 on CPU refused', () => {
  torch.tidy(() => {
    const a = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    torch.autocast({ device: 'cuda', dtype: 'float16' }, () => {
      assert.equal(torch.isAutocastEnabled('cuda'), true);
      assert.equal(torch.isAutocastEnabled('cpu'), false);
      assert.equal(a.matmul(a).dtype, 'float32', 'CPU tensors are not cast by CUDA autocast');
    });
    assert.equal(torch.isAutocastEnabled('cuda'), false);
    assert.throws(() => torch.autocast({ device: 'cpu', dtype: 'float16' }, () => 1), /CPU autocast runs in bfloat16, not float16/);
    assert.throws(() => torch.autocast({ device: 'mps' as never }, () => 1), /not supported/);
  });
});

test('autocast: a convolution agrees with float32 to bfloat16 precision, and its weights get float32 gradients', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const conv = new torch.nn.Conv2d(8, 16, 3, { padding: 1 });
    const x = torch.randn([2, 8, 16, 16]);
    const reference = conv.forward(x);
    const low = torch.autocast({}, () => conv.forward(x));
    assert.equal(low.dtype, 'bfloat16');
    const err = low.float().sub(reference).abs().max().item() / reference.abs().max().item();
    assert.ok(err > 0 && err < 2e-2, `relative error ${err}: bfloat16's (2^-8 per product, summed)`);
    low.float().sum().backward();
    assert.equal(conv.weight.grad!.dtype, 'float32');
    assert.equal(conv.weight.dtype, 'float32', 'the master weights stay float32');
  });
});
