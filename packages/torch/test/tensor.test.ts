import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

test('typed arrays round-trip through tensors for each dtype', () => {
  torch.tidy(() => {
    const cases: [ArrayBufferView, string][] = [
      [new Float32Array([1.5, -2.25, 3e-8, 1e30]), 'float32'],
      [new Float64Array([Math.PI, -1e-300, 1e300, 0.1]), 'float64'],
      [new Int32Array([-2147483648, 2147483647, 0, 7]), 'int32'],
      [new Int16Array([-32768, 32767, 1, -1]), 'int16'],
      [new Int8Array([-128, 127, 0, 3]), 'int8'],
      [new Uint8Array([0, 255, 128, 1]), 'uint8'],
      [new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, 42n]), 'int64'],
    ];
    for (const [data, dtype] of cases) {
      const t = torch.tensor(data as any, { shape: [2, 2] });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [2, 2]);
      assert.deepEqual(Array.from(t.data() as any), Array.from(data as any), dtype);
      assert.deepEqual(new Uint8Array(t.bytes()), new Uint8Array(data.buffer, data.byteOffset, data.byteLength), `${dtype} bytes`);
    }
    // bool, float16 and bfloat16 from raw bits
    const b = torch.fromBuffer(new Uint8Array([1, 0, 1]), 'bool', [3]);
    assert.deepEqual(b.toArray(), [true, false, true]);
    const h = torch.fromBuffer(new Uint16Array([0x3c00, 0xc000, 0x3555]), 'float16', [3]); // 1, -2, 0.33325
    assert.deepEqual(Array.from(h.data()), [1, -2, 0.333251953125]);
    const bf = torch.fromBuffer(new Uint16Array([0x3f80, 0x4049]), 'bfloat16', [2]); // 1, 3.140625
    assert.deepEqual(Array.from(bf.data()), [1, 3.140625]);
    assert.deepEqual(new Uint16Array(new Uint8Array(bf.bytes()).buffer), new Uint16Array([0x3f80, 0x4049]));
    // A view with an offset into a larger buffer copies only its own bytes.
    const big = new Float32Array([9, 1, 2, 3, 9]);
    assert.deepEqual(Array.from(torch.tensor(big.subarray(1, 4)).data()), [1, 2, 3]);
  });
});

test('nested arrays, scalars and dtype conversion', () => {
  torch.tidy(() => {
    const t = torch.tensor([[1, 2, 3], [4, 5, 6]]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
    assert.equal(t.ndim, 2);
    assert.equal(t.size(-1), 3);
    assert.deepEqual(t.size(), [2, 3]);
    assert.equal(torch.tensor(2.5).item(), 2.5);
    assert.deepEqual(torch.tensor(2.5).shape, []);
    assert.equal(torch.tensor([[true, false]]).dtype, 'bool');
    assert.deepEqual(torch.tensor([1.5, 2.5], { dtype: 'float16' }).toArray(), [1.5, 2.5]);
    assert.deepEqual(torch.tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'int64' }).toArray(), [[1, 2], [3, 4]]);
    const l = t.long();
    assert.equal(l.dtype, 'int64');
    assert.equal(l.to(t).dtype, 'float32');
    assert.equal(t.to('float64').dtype, 'float64');
    assert.equal(t.to('cpu').device, 'cpu');
    assert.equal(t.to({ dtype: 'int32', copy: true }).dtype, 'int32');
    assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => torch.tensor([1, 2, 3], { shape: [2, 2] }), /holds 4 elements but the data has 3/);
    assert.throws(() => torch.fromBuffer(new Float32Array(3), 'float32', [2, 2]), /holds 4 float32 elements \(16 bytes\) but the source has 12 bytes/);
    assert.throws(() => torch.fromBuffer(new Float32Array(3), 'float33' as any, [3]), /unknown dtype 'float33'/);
  });
});

test('factories take dtype, device and requiresGrad options', () => {
  torch.tidy(() => {
    const z = torch.zeros([2, 3], { dtype: 'int64' });
    assert.equal(z.dtype, 'int64');
    assert.deepEqual(z.toArray(), [[0, 0, 0], [0, 0, 0]]);
    const o = torch.ones([2], { dtype: 'float64', device: 'cpu', requiresGrad: true });
    assert.equal(o.requiresGrad, true);
    assert.equal(o.device, 'cpu');
    assert.deepEqual(torch.arange(5).toArray(), [0, 1, 2, 3, 4]);
    assert.equal(torch.arange(5).dtype, 'int64');
    assert.deepEqual(torch.full([2], 7, { dtype: 'float32' }).toArray(), [7, 7]);
    assert.deepEqual(torch.eye(2).toArray(), [[1, 0], [0, 1]]);
  });
});

test('manualSeed makes random ops repeatable, and the RNG state can be saved and restored', () => {
  torch.tidy(() => {
    torch.manualSeed(7);
    const a = torch.randn([5]).toArray();
    torch.manualSeed(7);
    const b = torch.randn([5]).toArray();
    assert.deepEqual(a, b);
    const state = torch.getRngState();
    const c = torch.rand([4]).toArray();
    torch.setRngState(state);
    assert.deepEqual(torch.rand([4]).toArray(), c);
    assert.notDeepEqual(torch.rand([4]).toArray(), c);
  });
});

test('threads, devices and build info', () => {
  const before = torch.getNumThreads();
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(before);
  assert.throws(() => torch.setNumThreads(0), /positive integer/);
  assert.equal(typeof torch.cuda.isAvailable(), 'boolean');
  if (!torch.cuda.isAvailable()) {
    assert.equal(torch.cuda.deviceCount(), 0);
    assert.throws(() => torch.tidy(() => torch.ones([1]).to('cuda')), /CUDA/i);
  }
  assert.match(torch.buildInfo().version, /^\d+\.\d+/);
});

test('inspection prints shape and values', async () => {
  const { inspect } = await import('node:util');
  torch.tidy(() => {
    const s = inspect(torch.tensor([1, 2]));
    assert.match(s, /Tensor\(shape=\[2\], dtype=float32, device=cpu\)/);
    assert.match(String(torch.tensor([3])), /3/);
  });
});
