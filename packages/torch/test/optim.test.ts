import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/index.js';

const { optim } = torch;
type Tensor = torch.Tensor;

// Reference runs of torch.optim 1.13, written by fixtures/make_optim_fixtures.py.
interface Config {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RAdam';
  options: Record<string, unknown>;
  groups?: Array<{ params: string[] } & Record<string, unknown>>;
  lookahead?: { k: number; alpha: number };
  /** torch.nn.utils clipping between backward and step; `norm` in expected: clip_grad_norm_'s return. */
  clip?: { norm?: number; normType?: number | 'inf'; value?: number };
  steps: number;
  expected: Array<{ w: number[][]; b: number[]; norm?: number }>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim_expected.json', import.meta.url), 'utf8')) as {
  x: number[][]; y: number[][]; w0: number[][]; b0: number[]; configs: Config[];
};
const config = (name: string): Config => fixture.configs.find((c) => c.name === name)!;
const live = () => torch.memoryStats().liveTensors;

/** The fixture's problem: parameters w, b and a function that fills their gradients. */
function problem(w0: unknown = fixture.w0, b0: unknown = fixture.b0) {
  const x = torch.tensor(fixture.x, { dtype: 'float64' });
  const y = torch.tensor(fixture.y, { dtype: 'float64' });
  const params: Record<string, Tensor> = {
    w: w0 instanceof torch.Tensor ? w0 : torch.tensor(w0 as number[][], { dtype: 'float64', requiresGrad: true }),
    b: b0 instanceof torch.Tensor ? b0 : torch.tensor(b0 as number[], { dtype: 'float64', requiresGrad: true }),
  };
  const computeGrads = () => torch.tidy(() => {
    x.matmul(params.w).add(params.b).tanh().sub(y).pow(2).mean().backward();
  });
  const dispose = () => torch.dispose([x, y, params]);
  return { params, computeGrads, dispose };
}

function makeOptimizer(c: Config, params: Record<string, Tensor>): torch.optim.OptimizerLike {
  const Class = { SGD: optim.SGD, Adam: optim.Adam, AdamW: optim.AdamW, RAdam: optim.RAdam }[c.optimizer];
  const groups = c.groups ? c.groups.map((g) => ({ ...g, params: g.params.map((n) => params[n]) })) : [params.w, params.b];
  const inner = new Class(groups as never, c.options);
  return c.lookahead ? new optim.Lookahead(inner, c.lookahead) : inner;
}

function trainStep(opt: torch.optim.OptimizerLike, computeGrads: () => void): void {
  opt.zeroGrad();
  computeGrads();
  opt.step();
}

function flat(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v as number];
}

function assertClose(actual: unknown, expected: unknown, tol: number, what: string): void {
  const a = flat(actual);
  const e = flat(expected);
  assert.equal(a.length, e.length, what);
  a.forEach((v, i) => assert.ok(Math.abs(v - e[i]) <= tol, `${what}[${i}]: got ${v}, expected ${e[i]} (diff ${Math.abs(v - e[i])})`));
}

for (const c of fixture.configs) {
  test(`${c.name}: every step equals PyTorch 1.13's to 1e-10`, () => {
    const { params, computeGrads, dispose } = problem();
    const opt = makeOptimizer(c, params);
    c.expected.forEach((e, i) => {
      if (c.clip) {
        opt.zeroGrad();
        computeGrads();
        const all = [params.w, params.b];
        if (c.clip.norm !== undefined) {
          const norm = torch.nn.utils.clipGradNorm_(all, c.clip.norm, c.clip.normType === 'inf' ? Infinity : c.clip.normType ?? 2);
          assertClose(norm.item(), e.norm, 1e-12, `${c.name}, step ${i + 1}, norm`);
          norm.dispose();
        } else torch.nn.utils.clipGradValue_(all, c.clip.value!);
        opt.step();
      } else trainStep(opt, computeGrads);
      assertClose(params.w.toArray(), e.w, 1e-10, `${c.name}, step ${i + 1}, w`);
      assertClose(params.b.toArray(), e.b, 1e-10, `${c.name}, step ${i + 1}, b`);
    });
    opt.dispose();
    dispose();
  });
}

test('stateDict uses PyTorch names and numbering; its tensors are copies', () => {
  const { params, computeGrads, dispose } = problem();
  const opt = new optim.Adam([{ params: [params.w] }, { params: [params.b], lr: 0.5 }], { lr: 0.01, amsgrad: true });
  const empty = opt.stateDict();
  assert.deepEqual(empty.state, {});
  trainStep(opt, computeGrads);
  const sd = opt.stateDict();
  assert.deepEqual(sd.paramGroups, [
    { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, params: [0] },
    { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, params: [1] },
  ]);
  assert.deepEqual(Object.keys(sd.state), ['0', '1']);
  assert.deepEqual(Object.keys(sd.state[1]).sort(), ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
  assert.equal(sd.state[1].step, 1);
  assert.deepEqual((sd.state[1].exp_avg as Tensor).shape, [2]);
  // Changing or freeing the copies leaves the optimizer alone.
  (sd.state[0].exp_avg as Tensor).fill_(123);
  torch.dispose(sd);
  const again = opt.stateDict();
  assert.ok(flat((again.state[0].exp_avg as Tensor).toArray()).every((v) => Math.abs(v) < 1));
  torch.dispose(again);
  trainStep(opt, computeGrads);
  opt.dispose();
  dispose();
});

test('parameters without a gradient are skipped and get no state', () => {
  const { params, computeGrads, dispose } = problem();
  const unused = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const opt = new optim.SGD([params.w, unused, params.b], { lr: 0.1, momentum: 0.9 });
  trainStep(opt, computeGrads);
  trainStep(opt, computeGrads);
  assert.deepEqual(unused.toArray(), [1, 2, 3]);
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ['0', '2']);
  torch.dispose([sd, unused]);
  opt.dispose();
  dispose();
});

test('zeroGrad sets gradients to null, or to zeros with setToNone: false', () => {
  const { params, computeGrads, dispose } = problem();
  const opt = new optim.SGD([params.w, params.b], { lr: 0.1 });
  computeGrads();
  opt.zeroGrad({ setToNone: false });
  torch.tidy(() => assert.deepEqual(flat(params.w.grad!.toArray()), [0, 0, 0, 0, 0, 0]));
  opt.zeroGrad();
  assert.equal(params.w.grad, null);
  dispose();
});

// Exact resume: 2 steps, save (safetensors + JSON), a fresh optimizer and scheduler load it, and
// every later step equals the uninterrupted run's bit for bit.
for (const name of ['SGD momentum, dampening, weight decay', 'Adam AMSGrad, weight decay', 'AdamW, two groups', 'RAdam weight decay', 'Lookahead(Adam), k=3, alpha=0.6']) {
  test(`exact resume through safetensors + JSON: ${name}`, () => {
    const c = config(name);
    const makeScheduler = (opt: torch.optim.OptimizerLike) => new optim.CosineAnnealingLR(opt, { tMax: 5, etaMin: 1e-4 });

    const full = problem();
    const fullOpt = makeOptimizer(c, full.params);
    const fullSched = makeScheduler(fullOpt);
    const uninterrupted: unknown[] = [];
    for (let i = 0; i < c.steps; i++) {
      trainStep(fullOpt, full.computeGrads);
      fullSched.step();
      uninterrupted.push([full.params.w.toArray(), full.params.b.toArray()]);
    }

    const first = problem();
    const opt = makeOptimizer(c, first.params);
    const sched = makeScheduler(opt);
    for (let i = 0; i < 2; i++) {
      trainStep(opt, first.computeGrads);
      sched.step();
    }
    const dir = mkdtempSync(join(tmpdir(), 'optim-resume-'));
    try {
      torch.tidy(() => {
        const { tensors, json } = optim.optimizerStateToTensors(opt.stateDict());
        torch.saveSafetensors(join(dir, 'model.safetensors'), { w: first.params.w, b: first.params.b });
        torch.saveSafetensors(join(dir, 'optimizer.safetensors'), tensors);
        writeFileSync(join(dir, 'train.json'), JSON.stringify({ optimizer: json, scheduler: sched.stateDict() }));
      });
      opt.dispose();
      first.dispose();

      const model = torch.loadSafetensors(join(dir, 'model.safetensors'));
      for (const t of Object.values(model)) t.requiresGrad = true;
      const resumed = problem(model.w, model.b);
      const saved = JSON.parse(readFileSync(join(dir, 'train.json'), 'utf8'));
      const opt2 = makeOptimizer(c, resumed.params);
      torch.tidy(() => opt2.loadStateDict(optim.optimizerStateFromTensors(torch.loadSafetensors(join(dir, 'optimizer.safetensors')), saved.optimizer)));
      // Made after the optimizer's lrs were restored: loadStateDict puts back its own base lrs.
      const sched2 = makeScheduler(opt2);
      sched2.loadStateDict(saved.scheduler);
      assert.deepEqual(opt2.paramGroups.map((g) => g.lr), sched.getLastLr());
      for (let i = 2; i < c.steps; i++) {
        trainStep(opt2, resumed.computeGrads);
        sched2.step();
        assert.deepEqual([resumed.params.w.toArray(), resumed.params.b.toArray()], uninterrupted[i], `step ${i + 1}`);
      }
      opt2.dispose();
      resumed.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    fullOpt.dispose();
    full.dispose();
  });
}

test('no tensor leaks: 100 steps keep only the optimizer state', () => {
  const cases: Array<[string, (p: Tensor[]) => torch.optim.OptimizerLike, number]> = [
    ['SGD', (p) => new optim.SGD(p, { lr: 0.01 }), 0],
    ['SGD Nesterov + weight decay', (p) => new optim.SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }), 2],
    ['Adam AMSGrad + weight decay', (p) => new optim.Adam(p, { amsgrad: true, weightDecay: 1e-4 }), 6],
    ['AdamW', (p) => new optim.AdamW(p), 4],
    ['RAdam', (p) => new optim.RAdam(p, { weightDecay: 1e-4 }), 4],
    ['Lookahead(Adam)', (p) => new optim.Lookahead(new optim.Adam(p), { k: 3 }), 6],
  ];
  for (const [name, make, stateTensors] of cases) {
    const { params, computeGrads, dispose } = problem();
    const opt = make([params.w, params.b]);
    const before = live();
    for (let i = 0; i < 100; i++) trainStep(opt, computeGrads);
    assert.equal(live(), before + stateTensors, `${name}: live tensors after 100 steps`);
    torch.tidy(() => opt.loadStateDict(opt.stateDict()));
    assert.equal(live(), before + stateTensors, `${name}: after a stateDict round trip`);
    opt.dispose();
    assert.equal(live(), before, `${name}: after dispose()`);
    dispose();
  }
});

test('bad options and state dicts fail with clear messages', () => {
  const { params, computeGrads, dispose } = problem();
  const { w, b } = params;
  assert.throws(() => new optim.SGD([w]), /^Error: SGD: lr is required \(pass it in the options or in every parameter group\)$/);
  assert.throws(() => new optim.Adam([w], { lr: -1 }), /Adam: invalid lr -1 \(must be a finite number >= 0\) \(parameter group 0\)/);
  assert.throws(() => new optim.SGD([{ params: [w] }, { params: [b], lr: -0.5 }], { lr: 0.1 }), /SGD: invalid lr -0.5 .*\(parameter group 1\)/);
  assert.throws(() => new optim.Adam([w], { betas: [1, 0.999] }), /Adam: invalid betas \[1,0.999\]/);
  assert.throws(() => new optim.SGD([w], { lr: 0.1, nesterov: true }), /SGD: Nesterov momentum requires a momentum and zero dampening/);
  assert.throws(() => new optim.AdamW([w], { weight_decay: 0.1 } as never), /AdamW: options has unknown option 'weight_decay' \(options: lr, betas, eps, weightDecay, amsgrad\)/);
  assert.throws(() => new optim.SGD([], { lr: 0.1 }), /SGD: got an empty parameter list/);
  assert.throws(() => new optim.SGD([w, w], { lr: 0.1 }), /params\[1\] appears more than once/);
  torch.tidy(() => assert.throws(() => new optim.SGD([w.mul(2)], { lr: 0.1 }), /params\[0\] is not a leaf tensor/));
  assert.throws(() => new optim.Lookahead(new optim.SGD([w], { lr: 0.1 }), { k: 0 }), /Lookahead: invalid k 0/);

  const two = new optim.Adam([{ params: [w] }, { params: [b] }], { lr: 0.01 });
  trainStep(two, computeGrads);
  torch.tidy(() => {
    const one = new optim.Adam([w, b]);
    assert.throws(() => one.loadStateDict(two.stateDict()), /Adam.loadStateDict: the state dict has 2 parameter groups, this optimizer has 1/);
    const swapped = new optim.Adam([{ params: [w, b] }, { params: [] }]);
    assert.throws(() => swapped.loadStateDict(two.stateDict()), /parameter group 0 has 1 parameters in the state dict, 2 in this optimizer/);
    const other = problem([[1, 2, 3]], [4]);
    const shapes = new optim.Adam([{ params: [other.params.w] }, { params: [other.params.b] }], { lr: 0.3 });
    assert.throws(() => shapes.loadStateDict(two.stateDict()), /state '(exp_avg|exp_avg_sq)' of parameter 0 has shape \[3,2\], the parameter has shape \[1,3\]/);
    assert.equal(shapes.paramGroups[0].lr, 0.3, 'a failed load changes nothing');
    const sgd = new optim.SGD([{ params: [w] }, { params: [b] }], { lr: 0.1, momentum: 0.9 });
    assert.throws(() => sgd.loadStateDict(two.stateDict()), /SGD: parameter group 0 of the state dict \(a state dict from another optimizer\?\) has unknown option 'betas'/);
    const ams = new optim.Adam([{ params: [w] }, { params: [b] }]);
    const sd = two.stateDict();
    delete sd.state[1].exp_avg;
    assert.throws(() => ams.loadStateDict(sd), /parameter 1 has state \[exp_avg_sq, step\], Adam expects \[exp_avg, exp_avg_sq, step\]/);
    const la = new optim.Lookahead(new optim.Adam([{ params: [w] }, { params: [b] }]));
    assert.throws(() => la.loadStateDict(two.stateDict()), /Lookahead.loadStateDict: the state dict has no 'lookahead' entry/);
    assert.throws(() => optim.optimizerStateFromTensors({ exp_avg: w }, { state: {}, paramGroups: [] }), /unexpected tensor name 'exp_avg'/);
    other.dispose();
  });
  two.dispose();
  dispose();
});

// Schedulers, against closed forms written out here.

function dummyOptimizer(lrs: number[]) {
  const params = lrs.map(() => torch.zeros([1], { requiresGrad: true }));
  return { opt: new optim.SGD(lrs.map((lr, i) => ({ params: [params[i]], lr }))), dispose: () => torch.dispose(params) };
}

/** The lrs after construction (step 0) and after each of `steps` steps. */
function trace(s: torch.optim.LRScheduler, steps: number, metrics: number[] = []): number[][] {
  const out = [s.getLastLr()];
  assert.deepEqual(s.optimizer.paramGroups.map((g) => g.lr), out[0]);
  for (let t = 1; t <= steps; t++) {
    s.step(metrics[t - 1]);
    out.push(s.getLastLr());
    assert.deepEqual(s.optimizer.paramGroups.map((g) => g.lr), out[t], 'the groups have the lr getLastLr() reports');
  }
  return out;
}

function assertSchedule(actual: number[][], expected: (base: number, t: number) => number, bases: number[]): void {
  actual.forEach((lrs, t) => lrs.forEach((lr, i) => {
    const e = expected(bases[i], t);
    assert.ok(Math.abs(lr - e) <= 1e-15 * bases[i], `step ${t}, group ${i}: got ${lr}, expected ${e}`);
  }));
}

const BASES = [0.1, 0.004];

test('PolyLR: base * (1 - t/T)^power, then 0', () => {
  const { opt, dispose } = dummyOptimizer(BASES);
  const lrs = trace(new optim.PolyLR(opt, { totalSteps: 10, power: 0.9 }), 13);
  assertSchedule(lrs, (b, t) => (t >= 10 ? 0 : b * Math.pow(1 - t / 10, 0.9)), BASES);
  assert.deepEqual(lrs[10], [0, 0]);
  dispose();
});

test('StepLR: base * gamma^floor(t / stepSize)', () => {
  const { opt, dispose } = dummyOptimizer(BASES);
  const lrs = trace(new optim.StepLR(opt, { stepSize: 3, gamma: 0.5 }), 10);
  assertSchedule(lrs, (b, t) => b * Math.pow(0.5, Math.floor(t / 3)), BASES);
  assert.deepEqual(lrs.map((l) => l[0]), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125]);
  dispose();
});

test('CosineAnnealingLR: etaMin + (base - etaMin)(1 + cos(pi t / tMax)) / 2', () => {
  const { opt, dispose } = dummyOptimizer(BASES);
  const lrs = trace(new optim.CosineAnnealingLR(opt, { tMax: 8, etaMin: 0.001 }), 8);
  assertSchedule(lrs, (b, t) => 0.001 + (b - 0.001) * (0.5 + 0.5 * Math.cos((t / 8) * Math.PI)), BASES);
  assert.ok(Math.abs(lrs[4][0] - (0.1 + 0.001) / 2) < 1e-17, 'halfway is the mean');
  assert.ok(Math.abs(lrs[8][0] - 0.001) < 1e-17, 'tMax reaches etaMin');
  dispose();
});

test('CosineAnnealingWarmRestarts with tMult = 2: cycles of 3, 6, 12 steps', () => {
  const { opt, dispose } = dummyOptimizer(BASES);
  const lrs = trace(new optim.CosineAnnealingWarmRestarts(opt, { t0: 3, tMult: 2, etaMin: 0.0005 }), 30);
  // Cycles start at steps 0, 3, 9, 21.
  const starts = [0, 3, 9, 21, 45];
  assertSchedule(lrs, (b, t) => {
    const c = starts.findIndex((s, i) => t >= s && t < starts[i + 1]);
    const phase = (t - starts[c]) / (starts[c + 1] - starts[c]);
    return 0.0005 + (b - 0.0005) * (0.5 + 0.5 * Math.cos(phase * Math.PI));
  }, BASES);
  for (const t of [0, 3, 9, 21]) assert.deepEqual(lrs[t], BASES, `restart at step ${t}`);
  dispose();
});

test('ReduceLROnPlateau: patience, cooldown and minLr on a hand-written metric sequence', () => {
  const { opt, dispose } = dummyOptimizer([0.1]);
  const s = new optim.ReduceLROnPlateau(opt, { mode: 'min', factor: 0.5, patience: 2, cooldown: 1, minLr: 0.02 });
  const metrics = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6];
  const lrs = trace(s, metrics.length, metrics).map((l) => l[0]);
  assert.deepEqual(lrs, [
    0.1,
    0.1, 0.1, 0.1, 0.1, // new best, new best, 1 and 2 bad steps (patience 2 tolerates them)
    0.05, // 3rd bad step: halve; cooldown 1
    0.05, 0.05, 0.05, // a bad step in the cooldown does not count; then 1, 2 bad steps
    0.025, // 3rd: halve
    0.025, 0.025, // cooldown; new best 0.5
    0.025, 0.025, 0.02, // 1, 2, 3 bad steps: 0.0125 is below minLr, so minLr
    0.02, 0.02, 0.02, 0.02, // at minLr it stays
  ]);
  const max = dummyOptimizer([0.1]);
  const m = new optim.ReduceLROnPlateau(max.opt, { mode: 'max', threshold: 0.05, thresholdMode: 'abs', patience: 0 });
  // 0.54 is not better than 0.5 + 0.05: reduce at once (patience 0); 0.56 is.
  assert.deepEqual(trace(m, 3, [0.5, 0.54, 0.56]).map((l) => l[0]), [0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1]);
  max.dispose();
  dispose();
});

test('LinearWarmup then PolyLR: the ramp, then the poly schedule from its step 0', () => {
  const { opt, dispose } = dummyOptimizer(BASES);
  const s = new optim.LinearWarmup(new optim.PolyLR(opt, { totalSteps: 6, power: 1 }), { warmupSteps: 4, startFactor: 0.1 });
  const lrs = trace(s, 12);
  assertSchedule(lrs, (b, t) => (t < 4 ? b * (0.1 + (0.9 * t) / 4) : b * (1 - Math.min(t - 4, 6) / 6)), BASES);
  assert.deepEqual(lrs[4], BASES);
  dispose();
});

test('LinearWarmup then ReduceLROnPlateau: metrics count from the end of warmup', () => {
  const { opt, dispose } = dummyOptimizer([0.1]);
  const s = new optim.LinearWarmup(new optim.ReduceLROnPlateau(opt, { patience: 0 }), { warmupSteps: 2, startFactor: 0.5 });
  const lrs = trace(s, 5, [9, 9, 1, 2, 3]).map((l) => l[0]);
  assert.deepEqual(lrs, [0.1 * 0.5, 0.1 * 0.75, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
  dispose();
});

test('scheduler stateDict round trips through JSON and resumes exactly', () => {
  const makers: Array<(o: torch.optim.OptimizerLike) => torch.optim.LRScheduler> = [
    (o) => new optim.PolyLR(o, { totalSteps: 20 }),
    (o) => new optim.StepLR(o, { stepSize: 4, gamma: 0.3 }),
    (o) => new optim.CosineAnnealingLR(o, { tMax: 15 }),
    (o) => new optim.CosineAnnealingWarmRestarts(o, { t0: 2, tMult: 2 }),
    (o) => new optim.ReduceLROnPlateau(o, { patience: 1, cooldown: 2 }),
    (o) => new optim.LinearWarmup(new optim.CosineAnnealingWarmRestarts(o, { t0: 3, tMult: 2 }), { warmupSteps: 3 }),
    (o) => new optim.LinearWarmup(new optim.ReduceLROnPlateau(o, { patience: 1 }), { warmupSteps: 2 }),
  ];
  const metrics = [5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2];
  for (const make of makers) {
    const a = dummyOptimizer(BASES);
    const full = trace(make(a.opt), metrics.length, metrics);
    const b = dummyOptimizer(BASES);
    const first = make(b.opt);
    for (let t = 0; t < 7; t++) first.step(metrics[t]);
    const json = JSON.stringify(first.stateDict());
    const c = dummyOptimizer([1, 1]); // wrong lrs until loadStateDict puts them back
    const resumed = make(c.opt);
    resumed.loadStateDict(JSON.parse(json));
    assert.deepEqual(c.opt.paramGroups.map((g) => g.lr), full[7]);
    for (let t = 7; t < metrics.length; t++) {
      resumed.step(metrics[t]);
      assert.deepEqual(resumed.getLastLr(), full[t + 1], `${first.constructor.name}, step ${t + 1}`);
    }
    for (const d of [a, b, c]) d.dispose();
  }
});

test('schedulers reject bad options and foreign state', () => {
  const { opt, dispose } = dummyOptimizer(BASES);
  assert.throws(() => new optim.PolyLR(opt, { totalSteps: 0 }), /PolyLR: invalid totalSteps 0 \(must be an integer >= 1\)/);
  assert.throws(() => new optim.StepLR(opt, { stepSize: 1.5 }), /StepLR: invalid stepSize 1.5/);
  assert.throws(() => new optim.CosineAnnealingWarmRestarts(opt, { t0: 2, tMult: 0 }), /invalid tMult 0/);
  assert.throws(() => new optim.ReduceLROnPlateau(opt, { factor: 1 }), /ReduceLROnPlateau: factor must be < 1/);
  assert.throws(() => new optim.ReduceLROnPlateau(opt, { minLr: [0] }), /expected 2 minLr values/);
  assert.throws(() => new optim.ReduceLROnPlateau(opt, { mode: 'best' as never }), /mode must be 'min' or 'max'/);
  assert.throws(() => new optim.ReduceLROnPlateau(opt).step(), /ReduceLROnPlateau.step: expected the metric as a number, got undefined/);
  const stepped = new optim.StepLR(opt, { stepSize: 2 });
  stepped.step();
  assert.throws(() => new optim.LinearWarmup(stepped, { warmupSteps: 5 }), /LinearWarmup: the inner scheduler must not have been stepped/);
  assert.throws(() => new optim.LinearWarmup(new optim.StepLR(opt, { stepSize: 2 }), { warmupSteps: 5, startFactor: 0 }), /invalid startFactor 0/);
  assert.throws(() => new optim.PolyLR(opt, { totalSteps: 5 }).loadStateDict(stepped.stateDict()), /PolyLR.loadStateDict: the state dict is from a StepLR, not a PolyLR/);
  const oneGroup = dummyOptimizer([0.1]);
  assert.throws(() => new optim.StepLR(oneGroup.opt, { stepSize: 2 }).loadStateDict(stepped.stateDict()), /'lastLr' must be 1 numbers \(one per parameter group\)/);
  oneGroup.dispose();
  dispose();
});
