// Segmentation metrics: the confusion matrix accumulated in libtorch against brute-force counts,
// and every score against values computed by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import { ConfusionMatrix, segmentationMetrics, formatMetricsTable } from '../src/index.js';
import { mulberry32 } from '../src/data/split.js';
import { GeosegError } from '../src/errors.js';

const close = (a: number, b: number, what: string, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} != ${b}`);
const closeAll = (a: number[], b: number[], what: string, eps = 1e-12) => {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => (Number.isNaN(b[i]) ? assert.ok(Number.isNaN(v), `${what}[${i}]: ${v} is not NaN`) : close(v, b[i], `${what}[${i}]`, eps)));
};

// Brute force: m[t][p] += 1 for every pixel whose target is a class id (not ignore, in [0, C)).
function bruteForce(pred: number[], target: number[], C: number, ignore: number): number[][] {
  const m = Array.from({ length: C }, () => new Array(C).fill(0));
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (t === ignore || t < 0 || t >= C) continue;
    m[t][pred[i]] += 1;
  }
  return m;
}

test('segmentationMetrics: a 3-class matrix, every score by hand', () => {
  // rows = ground truth, columns = prediction
  const m = [
    [45, 3, 2], // gt 0: 50 px
    [4, 16, 0], // gt 1: 20 px
    [1, 5, 24], // gt 2: 30 px
  ];
  // column sums (predicted): 50, 24, 26; total 100; diagonal 45 + 16 + 24 = 85.
  const r = segmentationMetrics(m, ['a', 'b', 'c']);
  assert.equal(r.total, 100);
  assert.deepEqual(r.support, [50, 20, 30]);
  close(r.pixelAccuracy, 0.85, 'PA = 85/100');
  // class accuracy = recall = tp / gt: 45/50, 16/20, 24/30
  closeAll(r.classAccuracy, [0.9, 0.8, 0.8], 'classAccuracy');
  closeAll(r.recall, [0.9, 0.8, 0.8], 'recall');
  close(r.mPA, (0.9 + 0.8 + 0.8) / 3, 'mPA');
  // IoU = tp / (gt + pred − tp): 45/(50+50−45) = 9/11, 16/(20+24−16) = 4/7, 24/(30+26−24) = 3/4
  closeAll(r.iou, [9 / 11, 4 / 7, 3 / 4], 'iou');
  close(r.mIoU, (9 / 11 + 4 / 7 + 3 / 4) / 3, 'mIoU');
  // FWIoU = Σ gt/N · IoU = 0.5·9/11 + 0.2·4/7 + 0.3·3/4
  close(r.fwIoU, 0.5 * 9 / 11 + 0.2 * 4 / 7 + 0.3 * 3 / 4, 'fwIoU');
  // Dice = 2tp / (gt + pred): 90/100, 32/44 = 8/11, 48/56 = 6/7
  closeAll(r.dice, [0.9, 8 / 11, 6 / 7], 'dice');
  close(r.mDice, (0.9 + 8 / 11 + 6 / 7) / 3, 'mDice');
  // precision = tp / pred: 45/50, 16/24, 24/26
  closeAll(r.precision, [0.9, 2 / 3, 12 / 13], 'precision');
  // kappa: pe = (50·50 + 20·24 + 30·26) / 100² = 3760/10000 = 0.376;
  // (0.85 − 0.376) / (1 − 0.376) = 0.474 / 0.624 = 79/104
  close(r.kappa, 79 / 104, 'kappa');
  // Dice = 2 IoU / (1 + IoU) for every class
  r.iou.forEach((v, c) => close(r.dice[c], (2 * v) / (1 + v), `dice/iou ${c}`));
});

test('segmentationMetrics: absent classes are NaN and left out of the means; GT-less predicted classes get IoU 0', () => {
  const m = [
    [5, 1, 1, 0, 0], // gt 0: 7
    [0, 3, 1, 0, 0], // gt 1: 4
    [0, 0, 0, 0, 0], // class 2: no ground truth, predicted twice
    [0, 0, 0, 0, 0], // class 3: neither ground truth nor prediction
    [2, 0, 0, 0, 0], // class 4: ground truth, never predicted
  ];
  // predicted: 7, 4, 2, 0, 0; total 13; diagonal 8
  const r = segmentationMetrics(m);
  // IoU: 5/(7+7−5) = 5/9, 3/(4+4−3) = 3/5, 0/(0+2) = 0, NaN (0/0), 0/(2+0) = 0
  closeAll(r.iou, [5 / 9, 3 / 5, 0, NaN, 0], 'iou');
  close(r.mIoU, (5 / 9 + 3 / 5 + 0 + 0) / 4, 'mIoU over the 4 classes present somewhere');
  closeAll(r.dice, [10 / 14, 6 / 8, 0, NaN, 0], 'dice');
  close(r.mDice, (10 / 14 + 6 / 8) / 4, 'mDice');
  // recall (class accuracy) is NaN without ground truth: 5/7, 3/4, NaN, NaN, 0/2
  closeAll(r.classAccuracy, [5 / 7, 3 / 4, NaN, NaN, 0], 'classAccuracy');
  close(r.mPA, (5 / 7 + 3 / 4 + 0) / 3, 'mPA over classes with ground truth');
  // precision is NaN for classes never predicted: 5/7, 3/4, 0/2, NaN, NaN
  closeAll(r.precision, [5 / 7, 3 / 4, 0, NaN, NaN], 'precision');
  close(r.pixelAccuracy, 8 / 13, 'PA');
  // FWIoU over classes with ground truth: 7/13·5/9 + 4/13·3/5 + 2/13·0
  close(r.fwIoU, (7 / 13) * (5 / 9) + (4 / 13) * (3 / 5), 'fwIoU');
  // pe = (7·7 + 4·4 + 0·2 + 0 + 2·0) / 169 = 65/169; kappa = (8/13 − 65/169) / (1 − 65/169) = (104 − 65)/(169 − 65) = 39/104
  close(r.kappa, 39 / 104, 'kappa');
  assert.deepEqual(r.support, [7, 4, 0, 0, 2]);

  // an empty matrix: NaN scores, zero counts
  const e = segmentationMetrics([[0, 0], [0, 0]]);
  for (const k of ['pixelAccuracy', 'mPA', 'mIoU', 'fwIoU', 'mDice', 'kappa'] as const) assert.ok(Number.isNaN(e[k]), k);
  assert.equal(e.total, 0);
  // one class in both: perfect, kappa undefined (pe = 1)
  const one = segmentationMetrics([[10, 0], [0, 0]]);
  close(one.mIoU, 1, 'mIoU single class');
  assert.ok(Number.isNaN(one.kappa), 'kappa with pe = 1 is NaN');
  // a perfect 3-class prediction: kappa 1
  close(segmentationMetrics([[3, 0, 0], [0, 5, 0], [0, 0, 2]]).kappa, 1, 'perfect kappa');

  assert.throws(() => segmentationMetrics([[1, 2]]), GeosegError);
  assert.throws(() => segmentationMetrics([[1, -1], [0, 1]]), /entry \[0\]\[1\]/);
  assert.throws(() => segmentationMetrics([[1, 0], [0, 1]], ['a']), /1 class names for a 2×2 matrix/);
});

test('ConfusionMatrix.update matches a brute-force count; ignore and out-of-range targets are skipped', () => {
  const C = 4, ignore = 255, n = 3 * 7 * 11;
  const rng = mulberry32(42);
  // targets: mostly classes, some ignore, some out of range (4, 9, -1); predictions any class,
  // and junk (99, -5) under ignored targets, which must not matter
  const target = Array.from({ length: n }, () => {
    const u = rng();
    return u < 0.1 ? ignore : u < 0.13 ? 4 : u < 0.15 ? 9 : u < 0.17 ? -1 : Math.floor(rng() * C);
  });
  const pred = target.map((t) => (t >= 0 && t < C ? Math.floor(rng() * C) : rng() < 0.5 ? 99 : -5));
  const expected = bruteForce(pred, target, C, ignore);
  assert.ok(expected.flat().reduce((a, b) => a + b, 0) < n * 0.9, 'some pixels are skipped');
  const cm = new ConfusionMatrix(C, ignore);
  torch.tidy(() => {
    // any shape, integer dtypes that differ (int32 target, int64 prediction)
    const p = torch.tensor(pred, { dtype: 'int64', shape: [3, 7, 11] }), t = torch.tensor(target, { dtype: 'int32', shape: [3, 7, 11] });
    const before = torch.memoryStats().liveTensors;
    cm.update(p, t);
    assert.equal(torch.memoryStats().liveTensors, before, 'update leaves no tensors behind');
  });
  assert.deepEqual(cm.toArray(), expected);

  // large inputs are counted in chunks: the same matrix with chunks of 50 pixels
  const saved = ConfusionMatrix.chunkElements;
  ConfusionMatrix.chunkElements = 50;
  try {
    const chunked = new ConfusionMatrix(C, ignore);
    chunked.update(torch.tensor(pred, { dtype: 'int64', shape: [3, 7, 11] }), torch.tensor(target, { dtype: 'int32', shape: [3, 7, 11] }));
    assert.deepEqual(chunked.toArray(), expected);
    // a bad prediction in a later chunk leaves the matrix as it was
    assert.ok(target[n - 1] >= 0 && target[n - 1] < C, 'the last pixel is counted');
    const badPred = pred.map((v, i) => (i === n - 1 ? 7 : v));
    assert.throws(() => chunked.update(torch.tensor(badPred, { dtype: 'int64' }), torch.tensor(target, { dtype: 'int64' })), /got values from 0 to 7/);
    assert.deepEqual(chunked.toArray(), expected, 'unchanged after a failed update');
    chunked.dispose();
  } finally {
    ConfusionMatrix.chunkElements = saved;
  }

  // uint8 masks (as read from rasters) with the default ignore index 255
  const cm8 = new ConfusionMatrix(C);
  const t8 = target.map((t) => (t < 0 ? 255 : t));
  const p8 = pred.map((p) => (p < 0 || p >= C ? 0 : p));
  cm8.update(torch.tensor(p8, { dtype: 'uint8' }), torch.tensor(t8, { dtype: 'uint8' }));
  assert.deepEqual(cm8.toArray(), bruteForce(p8, t8, C, 255));

  // predictions outside [0, C) on counted pixels are an error, shapes must agree, ids are integers
  assert.throws(() => cm.update(torch.tensor([0, 4], { dtype: 'int64' }), torch.tensor([1, 2], { dtype: 'int64' })), /predicted ids must be in \[0, 4\), got values from 0 to 4/);
  assert.throws(() => cm.update(torch.tensor([0, 1], { dtype: 'int64' }), torch.tensor([[1, 2]], { dtype: 'int64' })), /differ in shape/);
  assert.throws(() => cm.update(torch.tensor([0, 1]), torch.tensor([1, 2], { dtype: 'int64' })), /integer class ids, got float32/);
  assert.deepEqual(cm.toArray(), expected, 'failed updates change nothing');

  // an ignore index inside [0, C) is still skipped
  const cmIn = new ConfusionMatrix(3, 0);
  cmIn.update(torch.tensor([0, 1, 2, 2], { dtype: 'int64' }), torch.tensor([0, 1, 2, 0], { dtype: 'int64' }));
  assert.deepEqual(cmIn.toArray(), [[0, 0, 0], [0, 1, 0], [0, 0, 1]]);
  // nothing labelled: no change
  cmIn.update(torch.tensor([1], { dtype: 'int64' }), torch.tensor([0], { dtype: 'int64' }));
  assert.deepEqual(cmIn.toArray(), [[0, 0, 0], [0, 1, 0], [0, 0, 1]]);
  for (const m of [cm, cm8, cmIn]) m.dispose();
});

test('ConfusionMatrix: two batches equal one update over their concatenation; add, reset, fromArray', () => {
  const C = 5;
  const rng = mulberry32(7);
  const make = (n: number) => Array.from({ length: n }, () => (rng() < 0.1 ? 255 : Math.floor(rng() * C)));
  const ta = make(2 * 9 * 13), tb = make(2 * 9 * 13);
  const pa = ta.map(() => Math.floor(rng() * C)), pb = tb.map(() => Math.floor(rng() * C));
  const t = (v: number[]) => torch.tensor(v, { dtype: 'int64', shape: [2, 9, 13] });
  const twice = new ConfusionMatrix(C);
  twice.update(t(pa), t(ta));
  twice.update(t(pb), t(tb));
  const once = new ConfusionMatrix(C);
  once.update(torch.cat([t(pa), t(pb)], 0), torch.cat([t(ta), t(tb)], 0));
  assert.deepEqual(twice.toArray(), once.toArray());
  assert.deepEqual(once.toArray(), bruteForce([...pa, ...pb], [...ta, ...tb], C, 255));

  // add: per-batch matrices summed = the accumulated one
  const a = new ConfusionMatrix(C), b = new ConfusionMatrix(C);
  a.update(t(pa), t(ta));
  b.update(t(pb), t(tb));
  a.add(b);
  assert.deepEqual(a.toArray(), once.toArray());
  assert.throws(() => a.add(new ConfusionMatrix(C + 1)), /6 classes added to 5/);

  // fromArray round-trips, including counts past 2^32
  const big = [[3_000_000_000, 1], [2, 5_000_000_123]];
  const f = ConfusionMatrix.fromArray(big);
  assert.deepEqual(f.toArray(), big);
  f.update(torch.tensor([1, 0], { dtype: 'int64' }), torch.tensor([1, 1], { dtype: 'int64' }));
  assert.deepEqual(f.toArray(), [[3_000_000_000, 1], [3, 5_000_000_124]]);
  assert.throws(() => ConfusionMatrix.fromArray([[1, 2], [3]]), /row 1 has 1 entries, expected 2/);
  assert.throws(() => ConfusionMatrix.fromArray([[0.5]]), /non-negative integer/);

  // the metrics of the accumulated matrix follow from the brute-force matrix
  assert.deepEqual(segmentationMetrics(once.toArray()), segmentationMetrics(bruteForce([...pa, ...pb], [...ta, ...tb], C, 255)));

  once.reset();
  assert.deepEqual(once.toArray(), Array.from({ length: C }, () => new Array(C).fill(0)));
  for (const m of [twice, once, a, b, f]) m.dispose();
  assert.throws(() => once.toArray(), /dispos/i);
  assert.throws(() => new ConfusionMatrix(0), /positive integer/);
});

test('formatMetricsTable: per-class rows, summary lines, NaN as —', () => {
  const m = [
    [45, 3, 2, 0],
    [4, 16, 0, 0],
    [1, 5, 24, 0],
    [0, 0, 0, 0],
  ];
  const r = segmentationMetrics(m);
  const text = formatMetricsTable(r, ['Building', 'Road', 'Water', 'Snow']);
  const lines = text.split('\n');
  assert.equal(lines.length, 1 + 4 + 5);
  assert.match(lines[0], /^class\s+IoU %\s+Acc %\s+Dice %\s+support px$/);
  // Building: IoU 9/11 = 81.82 %, Acc 90.00 %, Dice 90.00 %, 50 px
  assert.match(lines[1], /^Building\s+81\.82\s+90\.00\s+90\.00\s+50$/);
  assert.match(lines[2], /^Road\s+57\.14\s+80\.00\s+72\.73\s+20$/);
  assert.match(lines[4], /^Snow\s+—\s+—\s+—\s+0$/);
  assert.match(text, /^PA\s+85\.00 %$/m);
  assert.match(text, /^mPA\s+83\.33 %$/m);
  assert.match(text, new RegExp(`^mIoU\\s+${((100 * (9 / 11 + 4 / 7 + 3 / 4)) / 3).toFixed(2).replace('.', '\\.')} %$`, 'm'));
  assert.match(text, /^FWIoU\s+/m);
  assert.match(text, /^kappa\s+0\.7596$/m); // 79/104
  // columns line up: every row as long as the header or shorter only by trailing spaces trimmed
  const widths = new Set(lines.slice(0, 5).map((l) => l.length));
  assert.equal(widths.size, 1, `aligned rows ${[...widths]}`);
  // missing names fall back to "class i"; an empty matrix prints dashes
  assert.match(formatMetricsTable(segmentationMetrics([[0, 0], [0, 0]]), []), /^class 1\s+—\s+—\s+—\s+0$/m);
  assert.match(formatMetricsTable(segmentationMetrics([[0, 0], [0, 0]]), []), /^kappa\s+—$/m);
});
