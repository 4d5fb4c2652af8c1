// The engine never frees, reads or overwrites the wrong tensor: stale handles are refused, user
// code run while an op reads its arguments (getters, Proxies) cannot redirect or corrupt the call,
// and modules own their parameters. Each case here was a reproduction of a real failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '../src/index.js';
import { kId } from '../src/tensor.js';
import { native } from '../src/native.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const values = (t: torch.Tensor) => Array.from(t.data() as ArrayLike<number | bigint>, Number);

/** Collect garbage until finalizers have had their chance to run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(5);
  }
}

test('a tensor kept from another async chain survives its scope, and its finalizer frees only itself', async () => {
  let made!: () => void;
  const ready = new Promise<void>((r) => (made = r));
  let kept: torch.Tensor | undefined;
  const scope = torch.tidy(async () => {
    kept = torch.full([4], 7);
    made();
    await sleep(20);
  });
  await ready;
  kept!.keep(); // from this test's chain, not the scope's
  await scope;
  assert.deepEqual(values(kept!), [7, 7, 7, 7], 'keep() holds whatever chain calls it');
  // Fill the table so that freed slots are reused, then let the kept tensor be collected.
  const others = Array.from({ length: 200 }, (_, i) => torch.full([4], i));
  kept = undefined;
  await collect();
  others.forEach((t, i) => assert.deepEqual(values(t), [i, i, i, i], `tensor ${i} still holds its own values`));
  torch.dispose(others);
});

test('a stale handle is refused, and releasing it frees nothing', () => {
  const a = torch.full([3], 1);
  const stale = a[kId];
  a.dispose();
  // The freed slot goes to the next tensor; the old handle must not reach it.
  const b = torch.full([3], 2);
  const forged = Object.create(Object.getPrototypeOf(b)) as torch.Tensor;
  forged[kId] = stale;
  assert.throws(() => forged.add(1), /disposed/);
  assert.throws(() => forged.shape, /disposed/);
  assert.throws(() => torch.cat([b, forged]), /disposed/);
  native.release(stale);
  native.releaseMany(new Float64Array([stale]), 1);
  assert.deepEqual(values(b), [2, 2, 2], 'b was not released through the stale handle');
  b.dispose();
});

test('a stale handle stays stale across many reuses of its slot', () => {
  const first = torch.zeros([1]);
  const stale = first[kId];
  first.dispose();
  for (let i = 0; i < 5000; i++) torch.zeros([1]).dispose();
  const holder = torch.full([1], 5); // now in the stale handle's slot
  const forged = Object.create(Object.getPrototypeOf(first)) as torch.Tensor;
  forged[kId] = stale;
  assert.throws(() => forged.item(), /disposed/);
  assert.equal(holder.item(), 5);
  holder.dispose();
});

test('a getter in the options object that runs ops cannot change the result', () => {
  const x = torch.ones([3]);
  const y = torch.full([3], 2);
  let runs = 0;
  const opts = {
    get alpha() {
      runs++;
      // Other computations, a nested tidy, and tens of thousands of tensors (the table grows).
      torch.tidy(() => torch.full([5], 9).mul(3).sub(1).sum());
      const many = Array.from({ length: 20000 }, () => torch.zeros([1]));
      torch.dispose(many);
      return 3;
    },
  };
  const r = x.add(y, opts);
  assert.deepEqual(values(r), [7, 7, 7], '1 + 3 * 2');
  assert.equal(runs, 1, 'the options object is read once');
  torch.dispose([x, y, r]);
});

test('a Proxy argument whose trap runs ops does not redirect the other arguments', () => {
  const x = torch.full([3], 10);
  const y = torch.full([3], 2);
  const hostile = new Proxy(y, {
    get(target, key, receiver) {
      torch.tidy(() => torch.full([1], 100).add(torch.full([1], 5)));
      return Reflect.get(target, key, receiver);
    },
  });
  const r = x.sub(hostile);
  assert.deepEqual(values(r), [8, 8, 8]);
  const r2 = torch.mul(x, hostile);
  assert.deepEqual(values(r2), [20, 20, 20]);
  torch.dispose([x, y, r, r2]);
});

test('an array element getter that runs ops and grows the table does not corrupt a tensor list', () => {
  const x = torch.zeros([4]);
  const v = torch.ones([2]).mul(5);
  const index = torch.tensor([1, 3], { dtype: 'int64' });
  const indices: torch.Tensor[] = [];
  Object.defineProperty(indices, 0, {
    enumerable: true,
    get() {
      const many = Array.from({ length: 20000 }, (_, i) => torch.full([1], i));
      torch.dispose(many);
      torch.tidy(() => torch.stack([torch.zeros([2]), torch.ones([2])]).sum());
      return index;
    },
  });
  const r = x.indexPut(indices, v);
  assert.deepEqual(values(r), [0, 5, 0, 5]);
  torch.dispose([x, v, index, r]);
});

test('integer-list arguments read through getters are safe', () => {
  const x = torch.arange(24).reshape([2, 3, 4]);
  const dims: number[] = [2, 0];
  Object.defineProperty(dims, 2, {
    enumerable: true,
    get() {
      torch.tidy(() => torch.zeros([7, 7]).permute([1, 0]).contiguous());
      return 1;
    },
  });
  const p = x.permute(dims);
  assert.deepEqual(p.shape, [4, 2, 3]);
  torch.dispose([x, p]);
});

test('modules own their parameters: a model made inside tidy() keeps them', () => {
  const conv = torch.tidy(() => new torch.nn.Conv2d(2, 3, 3));
  const bn = torch.tidy(() => new torch.nn.BatchNorm2d(3));
  for (const t of [...conv.parameters(), ...bn.parameters(), ...bn.buffers()]) assert.equal(t.isDisposed, false);
  const y = torch.tidy(() => bn.forward(conv.forward(torch.ones([1, 2, 5, 5]))).sum());
  assert.equal(Number.isFinite(y.item()), true);
  y.dispose();
  // A module moved inside a scope keeps its moved tensors too.
  torch.tidy(() => conv.to('float64'));
  assert.equal(conv.parameters()[0].isDisposed, false);
  assert.equal(conv.parameters()[0].dtype, 'float64');
  conv.dispose();
  bn.dispose();
});

test('fromBuffer reads its source after the shape, so a shape getter cannot free it under the copy', () => {
  const source = new Float32Array(1 << 16).fill(3);
  const shape: number[] = [];
  Object.defineProperty(shape, 0, {
    enumerable: true,
    get() {
      structuredClone(source.buffer, { transfer: [source.buffer] }); // detaches (frees) the source
      return 1 << 16;
    },
  });
  assert.throws(() => torch.fromBuffer(source, 'float32', shape), /source has 0 bytes/);
});
