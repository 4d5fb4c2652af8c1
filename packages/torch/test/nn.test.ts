import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/index.js';
import { nn, type Tensor } from '../src/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const expected = JSON.parse(readFileSync(join(fixtures, 'nn_expected.json'), 'utf8'));

// The same network as make_nn_fixtures.py, built from our layers.
class Net extends nn.Module {
  declare readonly features: nn.Sequential;
  declare readonly pool: nn.AdaptiveAvgPool2d;
  declare readonly fc: nn.Linear;
  constructor() {
    super();
    this.registerModule('features', new nn.Sequential(
      new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(),
      new nn.ConvTranspose2d(4, 3, 2, { stride: 2 }), new nn.GroupNorm(1, 3), new nn.LeakyReLU(0.2),
      new nn.MaxPool2d(2), new nn.Conv2d(3, 6, 3, { padding: 2, dilation: 2, groups: 3, bias: false }), new nn.ReLU6(),
      new nn.AvgPool2d(2), new nn.Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: false }), new nn.GELU()));
    this.registerModule('pool', new nn.AdaptiveAvgPool2d(2));
    this.registerModule('fc', new nn.Linear(24, 5));
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.pool.forward(this.features.forward(x)).flatten(1));
  }
}

const maxDiff = (a: ArrayLike<number>, b: number[]) => b.reduce((m, v, i) => Math.max(m, Math.abs(a[i] - v)), 0);

test('parameter and state dict names are PyTorch\'s', () => {
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([n]) => n), expected.parameter_names);
  assert.deepEqual(Object.keys(net.stateDict()), expected.state_dict_names);
  assert.equal(net.numParameters(), expected.num_parameters);
  net.dispose();
});

test('a PyTorch state dict loads strictly and the outputs match PyTorch (eval and train mode)', () => {
  torch.tidy(() => {
    const net = new Net();
    const state = torch.load(join(fixtures, 'nn_state.pt'));
    assert.deepEqual(net.loadStateDict(state), { missingKeys: [], unexpectedKeys: [] });
    const x = torch.tensor(expected.input.values, { shape: expected.input.shape });
    net.eval();
    const evalOut = torch.noGrad(() => net.forward(x));
    assert.deepEqual(evalOut.shape, expected.eval.shape);
    assert.ok(maxDiff(evalOut.data() as Float32Array, expected.eval.values) < 1e-5);
    net.train();
    const trainOut = torch.noGrad(() => net.forward(x));
    assert.ok(maxDiff(trainOut.data() as Float32Array, expected.train.values) < 1e-5);
    const bn = net.features.at(1) as nn.BatchNorm2d;
    assert.ok(maxDiff(bn.running_mean!.data() as Float32Array, expected.running_mean) < 1e-6);
    assert.ok(maxDiff(bn.running_var!.data() as Float32Array, expected.running_var) < 1e-6);
    assert.equal(bn.num_batches_tracked!.item(), expected.num_batches_tracked);
    net.dispose();
  });
});

test('strict loading reports every missing, unexpected and mis-shaped key in one error, and changes nothing', () => {
  torch.tidy(() => {
    const net = new Net();
    const before = net.stateDict()['fc.weight'].clone();
    const state = torch.load(join(fixtures, 'nn_state.pt'));
    delete state['features.0.bias'];
    state['extra.weight'] = torch.zeros([1]);
    state['fc.bias'] = torch.zeros([7]);
    assert.throws(() => net.loadStateDict(state), (e: Error) =>
      e instanceof nn.StateDictError && /missing keys: features\.0\.bias/.test(e.message) &&
      /unexpected keys: extra\.weight/.test(e.message) && /fc\.bias: checkpoint \[7\], model \[5\]/.test(e.message));
    assert.ok(net.stateDict()['fc.weight'].equal(before), 'nothing was copied');
    state['fc.bias'] = torch.zeros([5]);
    const r = net.loadStateDict(state, { strict: false });
    assert.deepEqual(r, { missingKeys: ['features.0.bias'], unexpectedKeys: ['extra.weight'] });
    net.dispose();
  });
});

test('strict loading lets a batch norm\'s num_batches_tracked be absent (old checkpoints), as PyTorch does', () => {
  torch.tidy(() => {
    const bn = new nn.BatchNorm2d(3);
    const state = { weight: torch.full([3], 2, { dtype: 'float32' }), bias: torch.zeros([3]), running_mean: torch.ones([3]), running_var: torch.ones([3]) };
    assert.deepEqual(bn.loadStateDict(state), { missingKeys: [], unexpectedKeys: [] });
    assert.equal(bn.weight.sum().item(), 6);
    assert.equal(bn.num_batches_tracked!.item(), 0, 'kept');
    delete (state as Record<string, unknown>).running_var;
    assert.throws(() => bn.loadStateDict(state), /missing keys: running_var$/);
  });
});

test('state dicts round-trip through safetensors', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'nn-')), 'model.safetensors');
  torch.tidy(() => {
    torch.manualSeed(1);
    const a = new Net();
    torch.saveSafetensors(file, a.stateDict());
    torch.manualSeed(2);
    const b = new Net();
    b.loadStateDict(torch.loadSafetensors(file));
    for (const [k, t] of Object.entries(a.stateDict())) assert.ok(t.equal(b.stateDict()[k]), k);
    a.dispose();
    b.dispose();
  });
});

test('default initialization follows PyTorch (bounds and spread)', () => {
  torch.tidy(() => {
    torch.manualSeed(0);
    const conv = new nn.Conv2d(64, 128, 3);
    const fanIn = 64 * 9;
    const bound = 1 / Math.sqrt(fanIn); // kaiming_uniform(a=√5) gives ±1/√fan_in
    assert.ok(conv.weight.abs().max().item() <= bound);
    // A uniform(-b, b) has standard deviation b/√3.
    assert.ok(Math.abs(conv.weight.std().item() - bound / Math.sqrt(3)) < 0.01 * bound);
    assert.ok(conv.bias!.abs().max().item() <= bound);
    const w = torch.empty([256, 512]);
    nn.init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' });
    assert.ok(Math.abs(w.std().item() - Math.sqrt(2 / 256)) < 0.02 * Math.sqrt(2 / 256));
    nn.init.xavierUniform_(w);
    assert.ok(w.abs().max().item() <= Math.sqrt(6 / (256 + 512)));
    assert.equal(nn.init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
    const bn = new nn.BatchNorm2d(3);
    assert.deepEqual(bn.weight!.toArray(), [1, 1, 1]);
    assert.deepEqual(bn.running_var!.toArray(), [1, 1, 1]);
    assert.equal(bn.num_batches_tracked!.dtype, 'int64');
  });
});

test('BatchNorm2d refuses to train on one value per channel (its running variance would become NaN), as PyTorch does', () => {
  torch.tidy(() => {
    const bn = new nn.BatchNorm2d(3);
    assert.throws(() => bn.forward(torch.randn([1, 3, 1, 1])), /BatchNorm2d: expected more than 1 value per channel when training, got input shape \[1, 3, 1, 1\]/);
    assert.deepEqual(bn.forward(torch.randn([2, 3, 1, 1])).shape, [2, 3, 1, 1]);
    bn.eval();
    assert.deepEqual(bn.forward(torch.randn([1, 3, 1, 1])).shape, [1, 3, 1, 1], 'eval uses the running statistics');
    assert.ok(bn.running_var!.isfinite().all().item());
  });
});

test('BatchNorm running statistics follow the momentum update, and cumulative averaging with momentum null', () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 3, 5, 7], { shape: [4, 1, 1, 1] }); // mean 4, unbiased var 20/3
    const bn = new nn.BatchNorm2d(1);
    bn.forward(x);
    assert.ok(Math.abs(bn.running_mean!.item() - 0.4) < 1e-6);
    assert.ok(Math.abs(bn.running_var!.item() - (0.9 + 0.1 * 20 / 3)) < 1e-6);
    const cumulative = new nn.BatchNorm2d(1, { momentum: null });
    cumulative.forward(x);
    cumulative.forward(x.add(2));
    assert.ok(Math.abs(cumulative.running_mean!.item() - 5) < 1e-6, 'average of 4 and 6');
    bn.eval();
    const y = bn.forward(x);
    const expect = (v: number) => (v - 0.4) / Math.sqrt(0.9 + 0.1 * 20 / 3 + 1e-5);
    assert.ok(maxDiff(y.data() as Float32Array, [1, 3, 5, 7].map(expect)) < 1e-5);
  });
});

test('dropout is the identity in eval mode and drops about p in train mode', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const x = torch.ones([100, 100]);
    const d = new nn.Dropout(0.3);
    const y = d.forward(x);
    const zeros = y.eq(0).sum().item() / 10000;
    assert.ok(Math.abs(zeros - 0.3) < 0.03, `dropped ${zeros}`);
    assert.ok(Math.abs(y.max().item() - 1 / 0.7) < 1e-6, 'survivors are scaled by 1/(1-p)');
    d.eval();
    assert.ok(d.forward(x).equal(x));
    const d2 = new nn.Dropout2d(0.5);
    const z = d2.forward(torch.ones([4, 50, 3, 3]));
    const perChannel = z.amax([2, 3]).eq(z.amin([2, 3])).all().item();
    assert.equal(perChannel, true, 'Dropout2d zeroes whole channels');
  });
});

test('train/eval propagate, containers name children, gradients reach every parameter', () => {
  torch.tidy(() => {
    const net = new Net();
    net.eval();
    assert.ok([...net.namedModules()].every(([, m]) => !m.training));
    net.train();
    const x = torch.randn([2, 3, 8, 8]);
    net.forward(x).sum().backward();
    for (const [name, p] of net.namedParameters()) assert.notEqual(p.grad, null, `${name} has a gradient`);
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null));
    const list = new nn.ModuleList([new nn.Identity(), new nn.Linear(2, 2)]);
    assert.deepEqual(list.namedParameters().map(([n]) => n), ['1.weight', '1.bias']);
    const dict = new nn.ModuleDict({ head: new nn.Linear(2, 1) });
    assert.deepEqual(Object.keys(dict.stateDict()), ['head.weight', 'head.bias']);
    const named = new nn.Sequential({ conv: new nn.Conv2d(1, 1, 1), act: new nn.ReLU() });
    assert.deepEqual(Object.keys(named.stateDict()), ['conv.weight', 'conv.bias']);
    net.to('float64');
    assert.ok(net.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad));
    assert.equal((net.features.at(1) as nn.BatchNorm2d).num_batches_tracked!.dtype, 'int64');
    assert.equal(net.forward(x.double()).dtype, 'float64');
    net.dispose();
  });
});

test('interpolate checks its arguments and resizes', () => {
  torch.tidy(() => {
    const x = torch.arange(4, { dtype: 'float32' }).reshape([1, 1, 2, 2]);
    assert.deepEqual(nn.functional.interpolate(x, { scaleFactor: 2 }).toArray(),
      [[[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]]]);
    assert.deepEqual(nn.functional.interpolate(x, { size: [3, 3], mode: 'bilinear', alignCorners: true }).toArray(),
      [[[[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]]]]);
    assert.throws(() => nn.functional.interpolate(x, {}), /exactly one of size and scaleFactor/);
  });
});

test('Conv1d: PyTorch\'s weight layout and default init bound; a kernel-3 convolution by hand', () => {
  torch.tidy(() => {
    const conv = new nn.Conv1d(4, 6, 3, { padding: 1 });
    assert.deepEqual(conv.weight.shape, [6, 4, 3]);
    assert.deepEqual(conv.bias!.shape, [6]);
    // kaiming_uniform(a=√5) gives |w| ≤ 1/√fan_in, fan_in = 4·3
    assert.ok(conv.weight.abs().max().item() <= 1 / Math.sqrt(12));
    // one input channel, one output: y[i] = w0·x[i−1] + w1·x[i] + w2·x[i+1] + b (zero padding)
    const one = new nn.Conv1d(1, 1, 3, { padding: 1 });
    torch.noGrad(() => { one.weight.copy_(torch.tensor([1, 10, 100]).reshape([1, 1, 3])); one.bias!.fill_(0.5); });
    const y = one.forward(torch.tensor([1, 2, 3, 4]).reshape([1, 1, 4]));
    assert.deepEqual(Array.from(y.reshape([-1]).toArray()), [10 + 200 + 0.5, 1 + 20 + 300 + 0.5, 2 + 30 + 400 + 0.5, 3 + 40 + 0.5]);
  });
});

test('nn.init.withoutRandomInit: layers built inside hold zeros and leave the random generator where it was', () => {
  torch.tidy(() => {
    torch.manualSeed(5);
    const expected = torch.rand([4]).toArray();
    torch.manualSeed(5);
    const conv = torch.nn.init.withoutRandomInit(() => new torch.nn.Conv2d(3, 8, 3));
    assert.equal(conv.weight.abs().sum().item(), 0);
    assert.equal(conv.bias!.abs().sum().item(), 0);
    assert.deepEqual(torch.rand([4]).toArray(), expected, 'no draws were made');
    // outside it, layers draw again
    const drawn = new torch.nn.Conv2d(3, 8, 3);
    assert.ok(drawn.weight.abs().sum().item() > 0);
  });
});
