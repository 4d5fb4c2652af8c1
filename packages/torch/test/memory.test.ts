import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const live = () => torch.memoryStats().liveTensors;
const tick = () => new Promise((r) => setImmediate(r));

test('tidy disposes what it made, except its result and kept tensors', () => {
  const before = live();
  let kept!: torch.Tensor;
  const out = torch.tidy(() => {
    const a = torch.ones([4]);
    const b = a.add(1);
    kept = b.mul(2).keep();
    const c = b.mul(3);
    return { c, list: [b.sum()] };
  });
  assert.equal(live(), before + 3, 'c, the sum and the kept tensor survive');
  assert.deepEqual(out.c.toArray(), [6, 6, 6, 6]);
  assert.equal(out.list[0].item(), 8);
  assert.deepEqual(kept.toArray(), [4, 4, 4, 4]);
  torch.dispose([out, kept]);
  assert.equal(live(), before);
  assert.equal(kept.isDisposed, true);
});

test('nested tidy hands results to the enclosing scope', () => {
  const before = live();
  let inner!: torch.Tensor;
  torch.tidy(() => {
    inner = torch.tidy(() => torch.ones([2]).add(1));
    assert.equal(inner.isDisposed, false);
    assert.equal(live(), before + 1);
  });
  assert.equal(inner.isDisposed, true, 'the outer scope disposed the inner result');
  assert.equal(live(), before);
});

test('tidy follows async functions across await', async () => {
  const before = live();
  const result = await torch.tidy(async () => {
    const a = torch.ones([3]);
    await tick();
    const b = a.mul(2);
    await new Promise((r) => setTimeout(r, 5));
    const c = b.add(a);
    return c;
  });
  assert.deepEqual(result.toArray(), [3, 3, 3]);
  assert.equal(live(), before + 1);
  result.dispose();
  // A throwing block still cleans up.
  await assert.rejects(torch.tidy(async () => {
    torch.ones([2]);
    await tick();
    throw new Error('inner failure');
  }), /inner failure/);
  assert.throws(() => torch.tidy(() => { torch.ones([2]); throw new Error('sync failure'); }), /sync failure/);
  assert.equal(live(), before);
});

test('the garbage collector releases tensors nobody disposed', async () => {
  await tick();
  const before = live();
  (() => { for (let i = 0; i < 200; i++) torch.ones([1000]); })();
  assert.ok(live() >= before + 200);
  for (let i = 0; i < 10 && live() > before + 20; i++) {
    await tick();
    gc();
    await tick();
  }
  assert.ok(live() <= before + 20, `live tensors ${live()} vs ${before} before`);
});

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

// A small model: 2 layers, forward, loss, backward and an SGD update under noGrad.
function makeParams() {
  torch.manualSeed(0);
  return [torch.randn([32, 64], { requiresGrad: true }), torch.randn([64, 8], { requiresGrad: true })];
}

// Under AddressSanitizer (npm run test:asan) freed memory sits in ASan's quarantine: RSS then
// measures the sanitizer, not the engine.
const rssSkip = process.env.GEOSEG_SANITIZER ? 'RSS is not meaningful under a sanitizer' : false;

test('5,000 training steps inside tidy keep RSS flat (within 50 MB)', { skip: rssSkip }, () => {
  const [w1, w2] = makeParams();
  const x = torch.randn([16, 32]);
  const target = torch.randint(8, [16]);
  const step = () => torch.tidy(() => {
    const loss = torch.crossEntropyLoss(x.matmul(w1).relu().matmul(w2), target);
    loss.backward();
    torch.noGrad(() => {
      for (const w of [w1, w2]) {
        w.sub_(w.grad!.mul(1e-3));
        w.grad!.zero_();
      }
    });
    return loss.item();
  });
  for (let i = 0; i < 500; i++) step();
  const start = rssMb();
  const liveStart = live();
  let last = 0;
  for (let i = 0; i < 5000; i++) last = step();
  const grown = rssMb() - start;
  assert.ok(Number.isFinite(last));
  assert.equal(live(), liveStart, 'no tensor outlives its step');
  assert.ok(grown < 50, `RSS grew by ${grown.toFixed(1)} MB`);
  torch.dispose([w1, w2, x, target]);
});

test('5,000 training steps with dispose() and no tidy keep RSS flat (within 50 MB)', { skip: rssSkip }, () => {
  const [w1, w2] = makeParams();
  const x = torch.randn([16, 32]);
  const target = torch.randint(8, [16]);
  const step = () => {
    const h = x.matmul(w1);
    const r = h.relu();
    const logits = r.matmul(w2);
    const loss = torch.crossEntropyLoss(logits, target);
    loss.backward();
    torch.noGrad(() => {
      for (const w of [w1, w2]) {
        const g = w.grad!;
        const update = g.mul(1e-3);
        w.sub_(update);
        g.zero_();
        update.dispose();
        g.dispose();
      }
    });
    const value = loss.item();
    for (const t of [h, r, logits, loss]) t.dispose();
    return value;
  };
  for (let i = 0; i < 500; i++) step();
  const start = rssMb();
  const liveStart = live();
  for (let i = 0; i < 5000; i++) step();
  const grown = rssMb() - start;
  assert.equal(live(), liveStart);
  assert.ok(grown < 50, `RSS grew by ${grown.toFixed(1)} MB`);
  torch.dispose([w1, w2, x, target]);
});
