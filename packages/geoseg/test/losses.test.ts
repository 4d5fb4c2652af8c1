import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../src/errors.js';
import {
  LOSSES, LOSS_NAMES, createLoss, crossEntropyLoss, diceLoss, focalLoss, generalizedDiceLoss, jaccardLoss,
  lovaszSoftmaxLoss, noisyLabelLoss, noisyThreshold, ohemCrossEntropyLoss, parseLossSpec, tverskyLoss, type ClassSelection, type LossName,
  smallObjectMining, somLoss, annealingFocalLoss,
} from '../src/losses/index.js';

torch.setNumThreads(1);

// -log σ(z) = log(1 + e^-z): the cross-entropy of a two-class pixel whose true class leads by z.
const sp = (z: number) => Math.log1p(Math.exp(-z));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

const f64 = (data: number[][][][]) => torch.tensor(data, { dtype: 'float64' });
const labels = (data: number[][][]) => torch.tensor(data, { dtype: 'int64' });

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(Number.isFinite(actual), `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
}

/** Loss value and d loss / d logits for a float64 copy of `logits`. */
function valueAndGrad(fn: (logits: Tensor) => Tensor, logits: Tensor): { value: number; grad: Float64Array; requiresGrad: boolean } {
  return torch.tidy(() => {
    const x = logits.to('float64').detach();
    x.requiresGrad = true;
    const loss = fn(x);
    assert.deepEqual(loss.shape, [], 'the loss is a scalar');
    const requiresGrad = loss.requiresGrad;
    loss.backward();
    return { value: loss.item(), grad: x.grad!.data() as Float64Array, requiresGrad };
  });
}

// The tiny case: one image, two classes, two pixels (a 1×2×1×2 logits tensor).
// Pixel 0 has logits (2, 0): p(class 0) = σ(2) = a. Pixel 1 has (0, 1): p(class 0) = σ(-1) = b.
const tiny = () => f64([[[[2, 0]], [[0, 1]]]]);
const a = sigmoid(2);
const b = sigmoid(-1);

test('ce: closed forms with class weights, ignore and label smoothing (PyTorch semantics)', () => {
  torch.tidy(() => {
    close(crossEntropyLoss(tiny(), labels([[[0, 1]]])).item(), (sp(2) + sp(1)) / 2, 1e-12, 'plain mean');
    close(crossEntropyLoss(tiny(), labels([[[0, 1]]]), { classWeights: [1, 3] }).item(), (1 * sp(2) + 3 * sp(1)) / 4, 1e-12, 'weighted mean divides by Σ w_y');
    close(crossEntropyLoss(tiny(), labels([[[0, 255]]])).item(), sp(2), 1e-12, 'ignored pixel left out of the mean');
    close(crossEntropyLoss(tiny(), labels([[[0, 7]]]), { ignoreIndex: 7 }).item(), sp(2), 1e-12, 'another ignoreIndex');
    // smoothing ε = 0.2 over C = 2: (1-ε)(-log p_y) + ε/C Σ_c (-log p_c); -log p(class 1) at pixel 0 is sp(-2)
    const smooth = ((0.8 * sp(2) + 0.1 * (sp(2) + sp(-2))) + (0.8 * sp(1) + 0.1 * (sp(-1) + sp(1)))) / 2;
    close(crossEntropyLoss(tiny(), labels([[[0, 1]]]), { labelSmoothing: 0.2 }).item(), smooth, 1e-12, 'label smoothing');
    // weights and smoothing: the smoothing term is weighted per class and normalised by Σ w_y too
    const both = (1 * 0.8 * sp(2) + 0.1 * (1 * sp(2) + 3 * sp(-2)) + 3 * 0.8 * sp(1) + 0.1 * (1 * sp(-1) + 3 * sp(1))) / 4;
    close(crossEntropyLoss(tiny(), labels([[[0, 1]]]), { classWeights: [1, 3], labelSmoothing: 0.2 }).item(), both, 1e-12, 'weights + smoothing');
    const bothIgnored = (3 * 0.8 * sp(1) + 0.1 * (1 * sp(-1) + 3 * sp(1))) / 3;
    close(crossEntropyLoss(tiny(), labels([[[255, 1]]]), { classWeights: [1, 3], labelSmoothing: 0.2 }).item(), bothIgnored, 1e-12, 'weights + smoothing + ignore');
  });
});

test('focal: gamma 0 is cross-entropy; gamma 2 and alpha in closed form', () => {
  torch.tidy(() => {
    const t = labels([[[0, 1]]]);
    close(focalLoss(tiny(), t, { gamma: 0 }).item(), (sp(2) + sp(1)) / 2, 1e-12, 'gamma 0 = ce');
    const f0 = (1 - sigmoid(2)) ** 2 * sp(2);
    const f1 = (1 - sigmoid(1)) ** 2 * sp(1);
    close(focalLoss(tiny(), t, { gamma: 2 }).item(), (f0 + f1) / 2, 1e-12, 'gamma 2');
    close(focalLoss(tiny(), t, { gamma: 2, alpha: [0.25, 0.75] }).item(), (0.25 * f0 + 0.75 * f1) / 2, 1e-12, 'per-class alpha');
    close(focalLoss(tiny(), t, { gamma: 2, alpha: 0.5 }).item(), (f0 + f1) / 4, 1e-12, 'scalar alpha');
    close(focalLoss(tiny(), t, { gamma: 0.5 }).item(), ((1 - sigmoid(2)) ** 0.5 * sp(2) + (1 - sigmoid(1)) ** 0.5 * sp(1)) / 2, 1e-12, 'gamma 0.5');
    close(focalLoss(tiny(), labels([[[255, 1]]]), { gamma: 2 }).item(), f1, 1e-12, 'ignored pixel left out');
    // on random logits with ignore pixels: gamma 0 equals ce, also with class weights
    torch.manualSeed(1);
    const logits = torch.randn([2, 5, 6, 7], { dtype: 'float64' }).mul(3);
    const target = torch.randint(5, [2, 6, 7]).maskedFill(torch.rand([2, 6, 7]).lt(0.2), 255);
    close(focalLoss(logits, target, { gamma: 0 }).item(), crossEntropyLoss(logits, target).item(), 1e-12, 'gamma 0 = ce (random)');
    const w = [0.2, 1, 3, 0.5, 2];
    close(focalLoss(logits, target, { gamma: 0, classWeights: w }).item(), crossEntropyLoss(logits, target, { classWeights: w }).item(), 1e-12, 'gamma 0 = weighted ce');
  });
});

test('dice, generalized dice, tversky, jaccard: closed forms on a two-pixel probability map', () => {
  torch.tidy(() => {
    const t = labels([[[0, 1]]]);
    // class 0: p = (a, b), g = (1, 0); class 1: p = (1-a, 1-b), g = (0, 1)
    const dice0 = (2 * a) / (a + b + 1);
    const dice1 = (2 * (1 - b)) / (2 - a - b + 1);
    close(diceLoss(tiny(), t, { smooth: 0 }).item(), 1 - (dice0 + dice1) / 2, 1e-12, 'dice');
    const s = 1;
    const diceS = ((2 * a + s) / (a + b + 1 + s) + (2 * (1 - b) + s) / (3 - a - b + s)) / 2;
    close(diceLoss(tiny(), t, { smooth: s }).item(), 1 - diceS, 1e-12, 'dice with smooth 1');
    // only class 0 present: the average is over it alone, unless classes is 'all'
    const t00 = labels([[[0, 0]]]);
    const only0 = (2 * (a + b)) / (a + b + 2);
    close(diceLoss(tiny(), t00, { smooth: 0 }).item(), 1 - only0, 1e-12, 'dice, classes present');
    close(diceLoss(tiny(), t00, { smooth: 0, classes: 'all' }).item(), 1 - only0 / 2, 1e-12, 'dice, all classes (absent class scores 0)');
    close(diceLoss(tiny(), t, { smooth: 0, classes: [1] }).item(), 1 - dice1, 1e-12, 'dice, listed classes');
    close(diceLoss(tiny(), labels([[[0, 255]]]), { smooth: 0 }).item(), 1 - (2 * a) / (a + 1), 1e-12, 'dice with an ignored pixel');

    // generalized dice: both classes have one pixel, so equal weights
    close(generalizedDiceLoss(tiny(), t, { smooth: 0 }).item(), 1 - (a + 1 - b) / 2, 1e-12, 'gdice');

    const [alpha, beta] = [0.3, 0.7];
    const tv0 = a / (a + alpha * b + beta * (1 - a));
    const tv1 = (1 - b) / (1 - b + alpha * (1 - a) + beta * b);
    close(tverskyLoss(tiny(), t, { alpha, beta, smooth: 0 }).item(), 1 - (tv0 + tv1) / 2, 1e-12, 'tversky');
    close(tverskyLoss(tiny(), t, { smooth: 0 }).item(), 1 - (tv0 + tv1) / 2, 1e-12, 'tversky defaults 0.3 / 0.7');

    const j0 = a / (1 + b);
    const j1 = (1 - b) / (2 - a);
    close(jaccardLoss(tiny(), t, { smooth: 0 }).item(), 1 - (j0 + j1) / 2, 1e-12, 'jaccard');
  });
});

test('tversky with alpha = beta = 0.5 equals dice (random logits, ignore pixels, each class selection)', () => {
  torch.tidy(() => {
    torch.manualSeed(2);
    const logits = torch.randn([2, 4, 9, 9], { dtype: 'float64' }).mul(2);
    const target = torch.randint(3, [2, 9, 9]).maskedFill(torch.rand([2, 9, 9]).lt(0.3), 255); // class 3 absent
    const selections: ClassSelection[] = ['present', 'all', [0, 3]];
    for (const classes of selections) {
      const d = diceLoss(logits, target, { smooth: 0, classes }).item();
      const tv = tverskyLoss(logits, target, { alpha: 0.5, beta: 0.5, smooth: 0, classes }).item();
      close(tv, d, 1e-12, `classes ${JSON.stringify(classes)}`);
    }
    assert.ok(Math.abs(tverskyLoss(logits, target, { alpha: 0.2, beta: 0.8, smooth: 0 }).item() - diceLoss(logits, target, { smooth: 0 }).item()) > 1e-4, 'other alpha/beta differ from dice');
  });
});

test('lovasz: closed form on two pixels', () => {
  torch.tidy(() => {
    // Both classes have errors (1-a, b) at pixels (0, 1), with b > 1-a, so pixel 1 sorts first.
    // class 0 (fg = pixel 0): J = (1/2, 1) -> weights (1/2, 1/2); class 1 (fg = pixel 1): J = (1, 1) -> (1, 0)
    const expected = ((0.5 * b + 0.5 * (1 - a)) + b) / 2;
    close(lovaszSoftmaxLoss(tiny(), labels([[[0, 1]]])).item(), expected, 1e-12, 'lovasz');
    // one class present: only class 0, errors (1-a, 1-b), both foreground: J = (1 - 1/2, 1 - 0/2) -> weights (1/2, 1/2)
    close(lovaszSoftmaxLoss(tiny(), labels([[[0, 0]]])).item(), 0.5 * (1 - b) + 0.5 * (1 - a), 1e-12, 'lovasz, one class');
  });
});

test('ohem: keeps the pixels below thresh, or the minKept hardest', () => {
  torch.tidy(() => {
    // two classes, target 0 everywhere; class-0 logit leads by d, so p(true) = σ(d) and ce = sp(d)
    const d = [3, 1, -1, 0.5]; // p = 0.953, 0.731, 0.269, 0.622
    const logits = f64([[[d], [[0, 0, 0, 0]]]]);
    const t0 = labels([[[0, 0, 0, 0]]]);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    close(ohemCrossEntropyLoss(logits, t0, { minKept: 1 }).item(), mean([sp(-1), sp(0.5)]), 1e-12, 'p < 0.7 kept');
    close(ohemCrossEntropyLoss(logits, t0, { minKept: 3 }).item(), mean([sp(-1), sp(0.5), sp(1)]), 1e-12, 'the 3 hardest');
    close(ohemCrossEntropyLoss(logits, t0, { minKept: 10 }).item(), mean(d.map(sp)), 1e-12, 'minKept above the count keeps all');
    close(ohemCrossEntropyLoss(logits, t0, { thresh: 0.5, minKept: 0 }).item(), sp(-1), 1e-12, 'thresh 0.5');
    const tIgn = labels([[[0, 0, 255, 0]]]);
    close(ohemCrossEntropyLoss(logits, tIgn, { minKept: 0 }).item(), sp(0.5), 1e-12, 'ignored pixel never kept');
    close(ohemCrossEntropyLoss(logits, tIgn, { minKept: 3 }).item(), mean([sp(3), sp(1), sp(0.5)]), 1e-12, 'minKept capped at the valid pixels');
    close(ohemCrossEntropyLoss(logits, t0, { minKept: 2, classWeights: [2, 1] }).item(), mean([sp(-1), sp(0.5)]), 1e-12, 'class weights of one class cancel');
    // minKept counts pixels of the whole batch: two images, the 3 hardest of their 8 pixels
    const two = torch.cat([logits, f64([[[[4, 2, 0.2, 5]], [[0, 0, 0, 0]]]])]);
    const t2 = labels([[[0, 0, 0, 0]], [[0, 0, 0, 0]]]);
    close(ohemCrossEntropyLoss(two, t2, { thresh: 0.1, minKept: 3 }).item(), mean([sp(-1), sp(0.2), sp(0.5)]), 1e-12, 'minKept over the batch');
  });
});

test('noisy: threshold schedule, and pixels whose loss exceeds -log p_thr are dropped', () => {
  close(noisyThreshold(0), 0.01, 1e-15, 'start');
  close(noisyThreshold(1), 0.1, 1e-15, 'end');
  // SegHZ 2.2: the loss threshold −log p_thr decays by cosine from −log 0.01 to −log 0.1
  close(noisyThreshold(0.5), Math.sqrt(0.01 * 0.1), 1e-15, 'middle: the mean of the two thresholds');
  const quarter = -Math.log(0.01) + (Math.log(0.01) - Math.log(0.1)) * (1 - Math.SQRT1_2) / 2;
  close(-Math.log(noisyThreshold(0.25)), quarter, 1e-12, 'quarter (cosine in the loss threshold, not linear)');
  torch.tidy(() => {
    // p(true) = σ(d) = 0.953, 0.0067, 0.076, 0.731
    const d = [3, -5, -2.5, 1];
    const logits = f64([[[d], [[0, 0, 0, 0]]]]);
    const t = labels([[[0, 0, 0, 0]]]);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    close(noisyLabelLoss(logits, t, { progress: 0 }).item(), mean([sp(3), sp(-2.5), sp(1)]), 1e-12, 'progress 0: p < 0.01 dropped');
    close(noisyLabelLoss(logits, t, { progress: 1 }).item(), mean([sp(3), sp(1)]), 1e-12, 'progress 1: p < 0.1 dropped');
    const viaSpec = createLoss('noisy', {})(logits, t, { progress: 1 });
    close(viaSpec.total.item(), mean([sp(3), sp(1)]), 1e-12, 'createLoss passes ctx.progress');
    assert.throws(() => createLoss('ce + noisy')(logits, t), (e: Error) => e instanceof ModelConfigError && /^loss noisy: progress is missing: expected a number in \[0, 1\]/.test(e.message));
  });
});

test('som: the mean of the top ratio of a hand-built loss map; ratio 1 is the plain mean', () => {
  torch.tidy(() => {
    // 10 pixel losses; 0 stands for an ignored pixel (ranked, never counted).
    const map = f64([[[[0.5, 3, 0, 1.5, 2]], [[0.25, 4, 1, 0, 0.75]]]]).squeeze(0);
    const values = [0.5, 3, 0, 1.5, 2, 0.25, 4, 1, 0, 0.75];
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    close(smallObjectMining(map, 0.3).item(), mean([4, 3, 2]), 1e-15, 'ratio 0.3: the 3 largest of 10');
    close(smallObjectMining(map, 0.25).item(), mean([4, 3]), 1e-15, 'ratio 0.25: ⌊2.5⌋ = 2');
    close(smallObjectMining(map, 1).item(), mean(values.filter((v) => v !== 0)), 1e-15, 'ratio 1: the mean over the nonzero (not ignored) losses');
    close(smallObjectMining(map, 0.05).item(), 0, 0, 'fewer than one pixel: 0');
    // som (cross-entropy mined) at ratio 1 without ignored pixels is cross-entropy.
    torch.manualSeed(11);
    const logits = torch.randn([2, 3, 4, 4], { dtype: 'float64' });
    const target = torch.randint(3, [2, 4, 4]);
    close(somLoss(logits, target, { ratio: 1 }).item(), crossEntropyLoss(logits, target).item(), 1e-12, 'som ratio 1 = ce');
    // At ratio 1/32 it is the single largest pixel loss.
    const worst = torch.crossEntropyLoss(logits, target, null, 0, 255).max().item();
    close(somLoss(logits, target, { ratio: 1 / 32 }).item(), worst, 1e-12, 'ratio 1/32 of 32 pixels: the worst one');
  });
});

test('annealing_focal: cross-entropy at progress 0 (over labelled pixels + batch size); the value is kept as it anneals', () => {
  torch.tidy(() => {
    torch.manualSeed(12);
    const logits = torch.randn([2, 3, 4, 4], { dtype: 'float64' }).mul(2);
    const target = torch.randint(3, [2, 4, 4]);
    const valid = 32;
    const ce = crossEntropyLoss(logits, target).item();
    close(annealingFocalLoss(logits, target, { progress: 0 }).item(), (ce * valid) / (valid + 2), 1e-12, 'progress 0');
    // The focal weights are renormalised to keep the total, so only the gradient changes.
    close(annealingFocalLoss(logits, target, { progress: 1 }).item(), (ce * valid) / (valid + 2), 1e-12, 'progress 1');
    const g0 = valueAndGrad((x) => annealingFocalLoss(x, target, { progress: 0 }), logits).grad;
    const g1 = valueAndGrad((x) => annealingFocalLoss(x, target, { progress: 1 }), logits).grad;
    assert.ok(g0.some((g, i) => Math.abs(g - g1[i]!) > 1e-4), 'the focal weights change the gradient');
    assert.throws(() => createLoss('annealing_focal')(logits, target), (e: Error) => /^loss annealing_focal: progress is missing/.test(e.message));
  });
});

// Random logits and targets with ignored pixels, and options for every loss that make each
// loss's special paths active (OHEM's minKept cut, smoothing, per-class alpha).
const OPTIONS: Record<LossName, Record<string, unknown>> = {
  ce: { classWeights: [0.5, 1, 2, 1.5], labelSmoothing: 0.1 },
  focal: { gamma: 2, alpha: [0.25, 0.5, 0.75, 1] },
  dice: {},
  gdice: {},
  lovasz: {},
  tversky: {},
  jaccard: {},
  ohem: { minKept: 40 },
  noisy: { progress: 0.5 },
  cp: { classWeights: [0.5, 1, 2, 1.5] },
  som: { ratio: 0.3 },
  annealing_focal: { progress: 0.1 },
};
// A loss that reads other outputs (cp reads the foreground logit `binary`) gets one made from the
// logits at the same pixels, so what holds per pixel (ignored pixels, gradients) still holds.
const otherOutputs = (logits: Tensor) => ({ binary: logits.narrow(1, 0, 1).mul(0.5) });
const run = (name: LossName, extra: Record<string, unknown> = {}) =>
  (logits: Tensor, target: Tensor) => (LOSSES[name].fn as (l: Tensor, t: Tensor, o: unknown, outputs?: Record<string, Tensor>) => Tensor)(
    logits, target, { ...OPTIONS[name], ...extra }, LOSSES[name].reads ? otherOutputs(logits) : undefined);
const VARIANTS: [string, LossName, Record<string, unknown>][] = [
  ...LOSS_NAMES.map((n): [string, LossName, Record<string, unknown>] => [n, n, {}]),
  ['lovasz perImage', 'lovasz', { perImage: true }],
  ['dice classes all', 'dice', { classes: 'all' }],
  ['focal gamma 0.5', 'focal', { gamma: 0.5 }],
  ['cp som', 'cp', { som: 0.2, classWeights: undefined }],
  ['annealing_focal past until', 'annealing_focal', { progress: 0.5 }],
];


test('registry: the twelve losses, each with a schema and a description', () => {
  assert.deepEqual([...LOSS_NAMES].sort(), ['annealing_focal', 'ce', 'cp', 'dice', 'focal', 'gdice', 'jaccard', 'lovasz', 'noisy', 'ohem', 'som', 'tversky']);
  for (const name of LOSS_NAMES) {
    assert.equal(typeof LOSSES[name].fn, 'function');
    assert.ok(LOSSES[name].description.length > 10, name);
    assert.equal(LOSSES[name].schema.parse({ ...OPTIONS[name] }).ignoreIndex, 255, `${name}: default ignoreIndex`);
  }
});

test('ignore: logits at ignored pixels change neither the value nor the gradient of any loss', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const logits = torch.randn([2, 4, 8, 8], { dtype: 'float64' }).mul(2);
    const target = torch.randint(4, [2, 8, 8]).maskedFill(torch.rand([2, 8, 8]).lt(0.25), 255);
    const ignored = target.eq(255).unsqueeze(1);
    const other = torch.where(ignored, torch.randn([2, 4, 8, 8], { dtype: 'float64' }).mul(20), logits);
    const ignoredMask = ignored.expand([2, 4, 8, 8]).flatten().data() as Uint8Array;
    for (const [label, name, extra] of VARIANTS) {
      const first = valueAndGrad((x) => run(name, extra)(x, target), logits);
      const second = valueAndGrad((x) => run(name, extra)(x, target), other);
      close(second.value, first.value, 1e-12, `${label}: value`);
      let maxDiff = 0;
      let maxIgnored = 0;
      for (let i = 0; i < first.grad.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(first.grad[i]! - second.grad[i]!));
        if (ignoredMask[i]) maxIgnored = Math.max(maxIgnored, Math.abs(second.grad[i]!));
      }
      assert.ok(maxDiff <= 1e-12, `${label}: gradients differ by ${maxDiff}`);
      assert.equal(maxIgnored, 0, `${label}: gradient at ignored pixels`);
      assert.ok(first.grad.some((g) => g !== 0), `${label}: some gradient`);
    }
  });
});

test('ignore: a fully ignored batch gives 0 (not NaN), still connected to the graph', () => {
  torch.tidy(() => {
    const logits = torch.randn([2, 3, 4, 4], { dtype: 'float64' });
    const target = torch.full([2, 4, 4], 255, { dtype: 'int64' });
    for (const [label, name, extra] of [...VARIANTS, ['lovasz all classes', 'lovasz', { classes: 'all' }], ['dice classes [1]', 'dice', { classes: [1] }]] as typeof VARIANTS) {
      const opts = name === 'ce' || name === 'cp' ? { classWeights: [1, 2, 3] } : name === 'focal' ? { alpha: 0.5 } : {};
      const r = valueAndGrad((x) => run(name, { ...extra, ...opts })(x, target), logits);
      assert.equal(r.value, 0, `${label}: value`);
      assert.ok(r.requiresGrad, `${label}: connected to the graph`);
      assert.ok(r.grad.every((g) => g === 0), `${label}: zero gradient`);
    }
    const composite = createLoss('ce + dice + lovasz + gdice')(logits, target);
    assert.equal(composite.total.item(), 0);
  });
});

test('gradients are finite for every loss, also with extreme float32 logits and absent classes', () => {
  torch.tidy(() => {
    torch.manualSeed(4);
    const target = torch.randint(3, [2, 16, 16]).maskedFill(torch.rand([2, 16, 16]).lt(0.1), 255); // class 3 absent
    for (const scale of [1, 50]) {
      // at scale 50 most softmax probabilities round to exactly 0 or 1 in float32
      const logits = torch.randn([2, 4, 16, 16]).mul(scale);
      for (const [label, name, extra] of VARIANTS) {
        const x = logits.detach();
        x.requiresGrad = true;
        const loss = run(name, extra)(x, target);
        loss.backward();
        assert.ok(Number.isFinite(loss.item()), `${label} (scale ${scale}): value ${loss.item()}`);
        assert.ok(x.grad!.isfinite().all().item(), `${label} (scale ${scale}): gradient not finite`);
      }
    }
  });
});

function finiteDifference(fn: (x: Tensor) => Tensor, x0: Tensor, what: string) {
  const { grad } = valueAndGrad(fn, x0);
  const base = x0.flatten().data() as Float64Array;
  const h = 1e-6;
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number) => torch.tidy(() => {
      const v = Float64Array.from(base);
      v[i]! += delta;
      return fn(torch.tensor(v, { shape: x0.shape })).item();
    });
    const numeric = (at(h) - at(-h)) / (2 * h);
    assert.ok(Math.abs(numeric - grad[i]!) <= 1e-7 + 1e-5 * Math.abs(numeric), `${what}: d/dx[${i}] analytic ${grad[i]} vs numeric ${numeric}`);
  }
}

test('gradients of dice and focal agree with finite differences (float64)', () => {
  torch.tidy(() => {
    torch.manualSeed(5);
    const x = torch.randn([1, 3, 2, 3], { dtype: 'float64' }).mul(2);
    const target = labels([[[0, 1, 255], [2, 1, 1]]]);
    finiteDifference((l) => diceLoss(l, target), x, 'dice');
    finiteDifference((l) => diceLoss(l, target, { classes: 'all', smooth: 0.5 }), x, 'dice, all classes');
    finiteDifference((l) => focalLoss(l, target, { gamma: 2, alpha: [0.2, 0.5, 0.8] }), x, 'focal gamma 2');
    finiteDifference((l) => focalLoss(l, target, { gamma: 0.5 }), x, 'focal gamma 0.5');
  });
});

interface Fixture {
  shape: number[];
  logits: number[];
  target: number[];
  oneImage: number[];
  cases: { name: string; loss: LossName; options: Record<string, unknown>; target: 'target' | 'oneImage'; value: number; grad?: number[] }[];
}

test('lovasz, gdice, weighted smoothed ce, som, cp with mining and annealing focal against PyTorch references (fixtures/losses/losses.json)', () => {
  const fx = JSON.parse(readFileSync(new URL('./fixtures/losses/losses.json', import.meta.url), 'utf8')) as Fixture;
  torch.tidy(() => {
    const logits = torch.tensor(fx.logits, { dtype: 'float64', shape: fx.shape });
    const [n, , h, w] = fx.shape as [number, number, number, number];
    const targets = {
      target: torch.tensor(fx.target, { dtype: 'int64', shape: [n, h, w] }),
      oneImage: torch.tensor(fx.oneImage, { dtype: 'int64', shape: [n, h, w] }),
    };
    assert.ok(fx.cases.length >= 18);
    for (const c of fx.cases) {
      const fn = LOSSES[c.loss].fn as (l: Tensor, t: Tensor, o: unknown, outputs?: Record<string, Tensor>) => Tensor;
      // cp's foreground logit is made from the logits as the fixture's (gradients flow through both).
      const r = valueAndGrad((x) => fn(x, targets[c.target], c.options, LOSSES[c.loss].reads ? otherOutputs(x) : undefined), logits);
      assert.ok(Math.abs(r.value - c.value) <= 1e-5, `${c.name}: ${r.value} vs PyTorch ${c.value}`);
      if (c.grad) {
        let maxDiff = 0;
        c.grad.forEach((g, i) => { maxDiff = Math.max(maxDiff, Math.abs(g - r.grad[i]!)); });
        assert.ok(maxDiff <= 1e-5, `${c.name}: gradient differs from PyTorch's by up to ${maxDiff}`);
      }
    }
  });
});

test('parseLossSpec: strings and arrays', () => {
  assert.deepEqual(parseLossSpec('ce + 0.5 * dice'), [{ name: 'ce', weight: 1, options: {} }, { name: 'dice', weight: 0.5, options: {} }]);
  assert.deepEqual(parseLossSpec('0.7*ce+0.3*lovasz'), [{ name: 'ce', weight: 0.7, options: {} }, { name: 'lovasz', weight: 0.3, options: {} }]);
  assert.deepEqual(parseLossSpec('  focal*2 + 1e-1 * gdice '), [{ name: 'focal', weight: 2, options: {} }, { name: 'gdice', weight: 0.1, options: {} }]);
  assert.deepEqual(parseLossSpec('ohem'), [{ name: 'ohem', weight: 1, options: {} }]);
  assert.deepEqual(parseLossSpec([{ name: 'ce', weight: 1, classWeights: [1, 2] }, { name: 'dice', weight: 0.5 }, { name: 'lovasz', perImage: true }]), [
    { name: 'ce', weight: 1, options: { classWeights: [1, 2] } },
    { name: 'dice', weight: 0.5, options: {} },
    { name: 'lovasz', weight: 1, options: { perImage: true } },
  ]);
  assert.deepEqual(parseLossSpec([{ name: 'noisy', from: 0.02 }]), [{ name: 'noisy', weight: 1, options: { from: 0.02 } }], 'progress may come later');
});

test('parseLossSpec and the losses: one-line errors naming the loss, the field, the value and what was expected', () => {
  const cases: [unknown, RegExp][] = [
    ['ce + foo', /^loss spec "ce \+ foo": unknown loss "foo" \(losses: ce, focal, dice, gdice, lovasz, tversky, jaccard, ohem, noisy, cp, som, annealing_focal\)$/],
    ['ce + * dice', /^loss spec "ce \+ \* dice": expected a loss name or a number at "\* dice"$/],
    ['ce +', /^loss spec "ce \+": expected a loss name or a number at the end$/],
    ['ce dice', /^loss spec "ce dice": expected "\+" or "\*" at "dice"$/],
    ['0.5 * 2', /expected a loss name in the term/],
    ['ce - dice', /expected "\+" or "\*" at "- dice"/],
    ['', /expected at least one term/],
    ['ce + 0.5*ce', /ce appears more than once/],
    [[], /expected at least one term, got an empty list/],
    [[{ name: 'focal', gamma: -1 }], /^loss focal: gamma = -1: expected a number >= 0$/],
    [[{ name: 'ce', labelSmoothing: 1.5 }], /^loss ce: labelSmoothing = 1\.5: expected a number <= 1$/],
    [[{ name: 'tversky', alpha: 'x' }], /^loss tversky: alpha = "x": expected a number$/],
    [[{ name: 'dice', smoth: 1 }], /^loss dice: unknown option "smoth" \(options: ignoreIndex, smooth, classes\)$/],
    [[{ name: 'dice', classes: 'some' }], /^loss dice: classes = "some": expected "present", "all" or a list of class ids$/],
    [[{ name: 'lovasz', classes: [0, -1] }], /^loss lovasz: classes\[1\] = -1: expected a number >= 0$/],
    [[{ name: 'ce', classWeights: [1, -2] }], /^loss ce: classWeights\[1\] = -2: expected a number >= 0$/],
    [[{ name: 'ohem', minKept: 1.5 }], /^loss ohem: minKept = 1\.5: expected an integer$/],
    [[{ name: 'focal', alpha: 'big' }], /^loss focal: alpha = "big": expected a number >= 0 or one number >= 0 per class$/],
    [[{ name: 'ce', weight: -1 }], /^loss ce: weight = -1: expected a finite number >= 0$/],
    [[{ name: 'bce' }], /^loss spec term 0: unknown loss "bce"/],
    [[{ weight: 1 }], /^loss spec term 0: expected \{ name, weight\?, \.\.\.options \}/],
    [42, /^loss spec: expected a string/],
  ];
  for (const [spec, pattern] of cases) {
    assert.throws(() => parseLossSpec(spec as string), (e: Error) => {
      assert.ok(e instanceof ModelConfigError, `${JSON.stringify(spec)}: ${e}`);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    }, JSON.stringify(spec));
  }
  torch.tidy(() => {
    const errors: [() => unknown, RegExp][] = [
      [() => crossEntropyLoss(tiny(), labels([[[0, 1]]]), { classWeights: [1, 2, 3] }), /^loss ce: classWeights has 3 values, expected 2 \(one per class of the logits\)$/],
      [() => focalLoss(tiny(), labels([[[0, 1]]]), { alpha: [1] }), /^loss focal: alpha has 1 value, expected 2/],
      [() => diceLoss(tiny(), labels([[[0, 1]]]), { classes: [7] }), /^loss dice: classes contains 7, expected class ids below 2/],
      [() => noisyLabelLoss(tiny(), labels([[[0, 1]]]), {} as { progress: number }), /^loss noisy: progress is missing/],
      [() => noisyLabelLoss(tiny(), labels([[[0, 1]]]), { progress: 2 }), /^loss noisy: progress = 2: expected a number <= 1$/],
      [() => diceLoss(tiny(), torch.tensor([[0, 1]], { dtype: 'int64' })), /^loss dice: expected target \[1, 1, 2\] to match logits \[1, 2, 1, 2\], got \[1, 2\]$/],
      [() => jaccardLoss(tiny(), torch.tensor([[[0, 1]]])), /^loss jaccard: expected an integer target \(class ids\), got float32$/],
      [() => createLoss('ce', { ignoreIndx: 0 }), /^createLoss: unknown common option "ignoreIndx"/],
      [() => createLoss('dice', { smooth: -1 }), /^loss dice: smooth = -1: expected a number >= 0$/],
    ];
    for (const [fn, pattern] of errors) assert.throws(fn, (e: Error) => e instanceof Error && pattern.test(e.message) && !e.message.includes('\n'), String(pattern));
  });
});

test('createLoss: weighted sum of terms, common options where they apply, term options first', () => {
  torch.tidy(() => {
    const t = labels([[[0, 1]]]);
    const ce = (sp(2) + sp(1)) / 2;
    const dice = 1 - ((2 * a) / (a + b + 1) + (2 * (1 - b)) / (3 - a - b)) / 2;
    const r = createLoss('ce + 0.5 * dice', { smooth: 0 })(tiny(), t);
    close(r.total.item(), ce + 0.5 * dice, 1e-12, 'total');
    assert.deepEqual(Object.keys(r.terms), ['ce', 'dice']);
    close(r.terms.ce!.item(), ce, 1e-12, 'ce term (unweighted)');
    close(r.terms.dice!.item(), dice, 1e-12, 'dice term (unweighted)');
    // class weights go to ce (and not to dice, which has no such option)
    const weighted = createLoss('ce + 0.5*dice', { classWeights: [1, 3], smooth: 0 })(tiny(), t);
    close(weighted.terms.ce!.item(), (sp(2) + 3 * sp(1)) / 4, 1e-12, 'common class weights');
    close(weighted.terms.dice!.item(), dice, 1e-12, 'dice unchanged');
    const own = createLoss([{ name: 'ce', classWeights: [1, 1] }], { classWeights: [1, 3] })(tiny(), t);
    close(own.total.item(), ce, 1e-12, "the term's own options win");
    const ignore = createLoss('ce', { ignoreIndex: 1 })(tiny(), t);
    close(ignore.total.item(), sp(2), 1e-12, 'common ignoreIndex');
    // the total backpropagates
    const x = tiny();
    x.requiresGrad = true;
    createLoss('0.7*ce + 0.3*lovasz')(x, t).total.backward();
    assert.ok(x.grad!.abs().sum().item() > 0);
  });
});

