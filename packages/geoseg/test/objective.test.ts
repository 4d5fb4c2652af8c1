// The training objective over named outputs, against closed forms: with all-zero logits over C
// classes the cross-entropy is ln C; with the target's logit L and the others 0 it is
// ln(e^L + C − 1) − L.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import { createObjective, labelsAt, runObjective } from '../src/train/objective.js';
import { parseTrainConfig } from '../src/train/config.js';
import { annealingFocalLoss, crossEntropyLoss, jointProbability, jointProbabilityLoss } from '../src/losses/index.js';

const C = 4;
const L = 2;
const lnC = Math.log(C);
const peaked = Math.log(Math.exp(L) + C - 1) - L;

/** Outputs for a 1×2×2 target of class 1: `out` all zeros, `aux` with logit L on class 1. */
function fixture() {
  const target = torch.ones([1, 2, 2], { dtype: 'int64' });
  const out = torch.zeros([1, C, 2, 2]);
  const aux = torch.zeros([1, C, 2, 2]);
  aux.select(1, 1).fill_(L);
  return { target, outputs: { out, aux } };
}

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);

test('default objective: out at weight 1, aux at its architecture weight, both with the run loss', () => {
  torch.tidy(() => {
    const { target, outputs } = fixture();
    const r = createObjective({ out: { weight: 1 }, aux: { weight: 0.4 } }, 'ce')(outputs, target);
    close(r.total.item(), lnC + 0.4 * peaked);
    close(r.terms.ce!.item(), lnC);
    close(r.terms.aux!.item(), peaked);
  });
});

test('per-output overrides: weight, loss, weight 0 drops an output', () => {
  torch.tidy(() => {
    const { target, outputs } = fixture();
    const defaults = { out: { weight: 1 }, aux: { weight: 0.4 } };
    close(createObjective(defaults, { aux: { weight: 0.25 } })(outputs, target).total.item(), lnC + 0.25 * peaked);
    close(createObjective(defaults, { out: 'ce', aux: { weight: 0 } })(outputs, target).total.item(), lnC);
    // 2·ce on out (the out entry's spec), aux at its default weight with its own loss spec 'ce'
    close(createObjective(defaults, { out: '2 * ce', aux: 'ce' })(outputs, target).total.item(), 2 * lnC + 0.4 * peaked);
  });
});

test('lower-resolution outputs are upsampled to the target first', () => {
  torch.tidy(() => {
    const target = torch.ones([1, 4, 4], { dtype: 'int64' });
    const aux = torch.zeros([1, C, 2, 2]);
    aux.select(1, 1).fill_(L); // constant per class: bilinear upsampling keeps it
    const r = createObjective({ out: { weight: 1 }, aux: { weight: 0.5 } }, 'ce')({ out: torch.zeros([1, C, 4, 4]), aux }, target);
    close(r.total.item(), lnC + 0.5 * peaked);
  });
});

test('objective errors name the field', () => {
  assert.throws(() => createObjective({ out: { weight: 1 } }, { aux: 'ce' }, {}, 'run.yaml: loss'), /run.yaml: loss.aux: the model has no output 'aux' \(its outputs: out\)$/);
  assert.throws(() => createObjective({ out: { weight: 1 } }, { out: { weight: 0 } }), /every output has weight 0/);
  assert.throws(() => runObjective({ loss: 'ce', auxWeight: 0.4 }, { arch: 'unet', encoder: 'resnet18', classes: 2 }, {}, 'run.yaml'), /run.yaml: auxWeight: unet has no aux output \(its outputs: out\)/);
  assert.throws(() => runObjective({ loss: { aux: { weight: 0.1 } }, auxWeight: 0.4 }, { arch: 'pspnet', encoder: 'resnet18', classes: 2, auxHead: true }, {}, 'run.yaml'), /both set the aux weight/);
  torch.tidy(() => {
    const { target } = fixture();
    const objective = createObjective({ out: { weight: 1 }, aux: { weight: 0.4 } }, 'ce');
    assert.throws(() => objective({ out: torch.zeros([1, C, 2, 2]) }, target), /the model returned no output 'aux'/);
  });
});

test('auxWeight is the shorthand for loss.aux.weight', () => {
  torch.tidy(() => {
    const { target, outputs } = fixture();
    const objective = runObjective({ loss: 'ce', auxWeight: 0.1 }, { arch: 'pspnet', encoder: 'resnet18', classes: C, auxHead: true }, {}, 'run.yaml');
    close(objective(outputs, target).total.item(), lnC + 0.1 * peaked);
  });
});

test('run configs: architecture options are checked against the chosen architecture', () => {
  const base = { out: 'run', data: { dataset: 'ds' }, train: { iterations: 1 } };
  assert.throws(() => parseTrainConfig({ ...base, model: { arch: 'unet', bins: [1, 2] } }, 'run.yaml'), /run.yaml: model.bins: not an option of unet \(its options: decoderChannels\) \(got \[1,2\]\)$/);
  assert.throws(() => parseTrainConfig({ ...base, model: { arch: 'segformer' } }, 'run.yaml'), /run.yaml: model.arch: unknown architecture \(known: unet,/);
  assert.throws(() => parseTrainConfig({ ...base, model: { arch: 'pspnet', bins: [0] } }, 'run.yaml'), /run.yaml: model.bins.0: Number must be greater than 0/);
  assert.throws(() => parseTrainConfig({ ...base, model: { arch: 'deeplabv3plus', encoder: 'hourglass52' } }, 'run.yaml'),
    /run.yaml: model.encoder: encoder 'hourglass52' runs only at output stride 32; deeplabv3plus runs at output stride 16 \(got "hourglass52"\)$/);
  const ok = parseTrainConfig({ ...base, model: { arch: 'pspnet', bins: [1, 3], auxHead: true }, loss: { out: 'ce + 0.5 * dice', aux: { weight: 0.2 } } }, 'run.yaml');
  assert.deepEqual(ok.model, { arch: 'pspnet', encoder: 'resnet18', encoderWeights: null, init: null, bins: [1, 3], auxHead: true });
});

test('cp (FactSeg joint probability) reads out and binary: closed form, and through the objective', () => {
  torch.tidy(() => {
    const a = [0.3, -1.2, 0.8];
    const b = 0.7;
    // one pixel of class 1, one of class 0, written out: s = softmax(a), f = σ(b),
    // p = [(1-f)s0, f s1, f s2] / Σ
    const s = a.map((x) => Math.exp(x) / a.reduce((z, y) => z + Math.exp(y), 0));
    const f = 1 / (1 + Math.exp(-b));
    const p = [(1 - f) * s[0]!, f * s[1]!, f * s[2]!];
    const z = p[0]! + p[1]! + p[2]!;
    const expected = (-Math.log(p[1]! / z) - Math.log(p[0]! / z)) / 2;
    const out = torch.tensor(a, { dtype: 'float64' }).reshape([1, 3, 1, 1]).expand([1, 3, 1, 2]).contiguous();
    const binary = torch.full([1, 1, 1, 2], b, { dtype: 'float64' });
    const target = torch.tensor([[[1, 0]]], { dtype: 'int64' });
    close(jointProbabilityLoss(out, target, {}, { binary }).item(), expected);
    // the probabilities sum to 1 and are p / Σ
    const prob = jointProbability(out, binary);
    close(prob.sum([1]).min().item(), 1);
    close(prob.select(1, 2).max().item(), p[2]! / z);
    // through the objective: cp on out (the architecture's default: the run gives no loss), reading binary
    const objective = createObjective({ out: { weight: 1, loss: 'cp' }, binary: { weight: 0 } }, undefined);
    close(objective({ out, binary }, target).total.item(), expected);
    // a run's loss replaces the architecture's default on out
    const ce = createObjective({ out: { weight: 1, loss: 'cp' }, binary: { weight: 0 } }, 'ce');
    close(ce({ out, binary }, target).total.item(), (-Math.log(s[1]!) - Math.log(s[0]!)) / 2);
  });
});

test('FactSeg and FarSeg train with their papers\' losses unless the run gives one; FactSeg refuses a loss that leaves binary untrained', () => {
  torch.tidy(() => {
    torch.manualSeed(4);
    const model = (arch: string) => ({ arch, encoder: 'resnet18', classes: 3 });
    const out = torch.randn([2, 3, 8, 8], { dtype: 'float64' });
    const binary = torch.randn([2, 1, 8, 8], { dtype: 'float64' });
    const target = torch.randint(3, [2, 8, 8]);
    const factseg = runObjective({}, model('factseg'), {}, 'run.yaml');
    close(factseg({ out, binary }, target).total.item(), jointProbabilityLoss(out, target, { som: 0.1 }, { binary }).item());
    const plainCp = runObjective({ loss: 'cp' }, model('factseg'), {}, 'run.yaml');
    close(plainCp({ out, binary }, target).total.item(), jointProbabilityLoss(out, target, {}, { binary }).item());
    assert.throws(() => runObjective({ loss: 'ce + 0.5 * dice' }, model('factseg'), {}, 'run.yaml'), (e: Error) => e.message ===
      "run.yaml: loss: the model predicts with its output 'binary', which this loss does not train (put a loss that reads it on out: cp; e.g. 'cp + 0.5 * dice')");
    assert.throws(() => runObjective({ loss: { binary: { weight: 1 } } }, model('factseg'), {}, 'run.yaml'), (e: Error) => e.message ===
      "run.yaml: loss.binary: the output 'binary' takes no loss of its own (a loss on out that reads it trains it: cp)");
    const mixed = runObjective({ loss: 'cp + 0.5 * dice' }, model('factseg'), {}, 'run.yaml');
    assert.deepEqual(Object.keys(mixed({ out, binary }, target).terms).sort(), ['cp', 'dice']);
    const farseg = runObjective({}, model('farseg'), {}, 'run.yaml');
    close(farseg({ out }, target, { progress: 0.5 }).total.item(), annealingFocalLoss(out, target, { progress: 0.5 }).item());
    close(runObjective({ loss: 'ce' }, model('farseg'), {}, 'run.yaml')({ out }, target).total.item(), crossEntropyLoss(out, target).item());
  });
});

test('a loss that reads an output the model lacks is refused when the objective is made', () => {
  assert.throws(() => createObjective({ out: { weight: 1 } }, 'cp', {}, 'run.yaml: loss'),
    /run.yaml: loss: cp \(on output 'out'\) reads the output 'binary', which the model does not have \(its outputs: out\)/);
});

test('point outputs: the label is read at each point (the pixel it falls in), and the loss is taken there', () => {
  torch.tidy(() => {
    // a 3×4 label whose pixel (row r, column c) has class 4r + c
    const target = torch.arange(12, { dtype: 'int64' }).reshape([1, 3, 4]);
    // (x, y) in [0, 1]: pixel centres, and points just inside a pixel's edges
    const at = [[0.125, 1 / 6], [0.875, 5 / 6], [0.26, 0.34], [0.74, 0.32], [0.999, 0.001]];
    const expected = [0, 11, 5, 2, 3];
    const points = torch.tensor(at.flat(), { dtype: 'float32' }).reshape([1, at.length, 2]);
    assert.deepEqual(Array.from(labelsAt(target, points).reshape([-1]).toArray()).map(Number), expected);
    // the objective's loss on `points` is cross-entropy against those labels: logit L on the label's class
    const classes = 12;
    const logits = torch.zeros([1, classes, 1, at.length]);
    logits.select(1, 0).fill_(L); // right only for the first point (class 0)
    const objective = createObjective({ out: { weight: 1 }, points: { weight: 1 } }, 'ce', {}, 'loss', { sampledOutputs: { points: 'point_coords' } });
    const out = torch.zeros([1, classes, 3, 4]);
    const r = objective({ out, points: logits, point_coords: points }, target);
    const onPoints = (Math.log(Math.exp(L) + classes - 1) - L + 4 * Math.log(Math.exp(L) + classes - 1)) / at.length;
    close(r.total.item(), Math.log(classes) + onPoints);
    close(r.terms.points!.item(), onPoints);
    // the point head refines the prediction, so it must train; and the points come with their output
    assert.throws(() => runObjective({ loss: { points: { weight: 0 } } }, { arch: 'pointrend', encoder: 'resnet18', classes: 3 }, {}, 'run.yaml'), (e: Error) => e.message ===
      "run.yaml: loss.points.weight: 0: the output 'points' trains the head that refines the prediction (give it a weight > 0)");
    assert.throws(() => objective({ out, points: logits }, target), /the model returned 'points' without its points 'point_coords'/);
  });
});
