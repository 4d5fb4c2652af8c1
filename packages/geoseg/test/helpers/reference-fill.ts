// Shared by the tests that compare geoseg's models with Python PyTorch references
// (fixtures/make_torchvision_fixtures.py, fixtures/make_decoder_fixtures.py): the weight fill
// rule of those scripts, their input image, and the comparison with a stored output summary.
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import type { Tensor, nn } from '@geoseg/torch';

/** The scripts' name_seed: a 31-multiplier string hash modulo 2^31 - 1. */
export function nameSeed(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 2147483647;
  return h;
}

/**
 * The scripts' fill: every floating-point state-dict entry from libtorch's generator seeded by
 * nameSeed(its name); BN running variances and norm weights in [0.5, 1.5), running means and biases
 * in [-0.1, 0.1), other weights uniform with variance 1/fan_in. Leaves the model in eval mode.
 */
export function fill(model: nn.Module): void {
  torch.tidy(() => torch.noGrad(() => {
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (!t.isFloatingPoint()) continue;
      torch.manualSeed(nameSeed(name));
      const u = torch.rand(t.shape, { dtype: 'float32' });
      let v: Tensor;
      if (name.endsWith('running_var')) v = u.add(0.5);
      else if (name.endsWith('running_mean') || name.endsWith('bias')) v = u.sub(0.5).mul(0.2);
      else if (t.ndim === 1) v = u.add(0.5);
      else v = u.mul(2).sub(1).mul(Math.sqrt(3 / (t.numel() / t.shape[0])));
      t.copy_(v);
    }
  }));
  model.eval();
}

/** The scripts' input: manualSeed(7), then uniform in [-1, 1). */
export function input(shape: number[] = [1, 3, 64, 64]): Tensor {
  torch.manualSeed(7);
  return torch.rand(shape).mul(2).sub(1);
}

/** An output as the scripts store it: shape, sum, sum of |values|, 97 evenly spaced values. */
export interface Summary { shape: number[]; sum: number; absSum: number; indices: number[]; values: number[] }

/**
 * Assert that t matches the summary: same shape, sampled values within 1e-4 (or 1e-5 of the
 * output's mean magnitude, when larger: randomly filled HRNets give logits of ~700, whose float32
 * rounding differs by 1e-3 between CPUs, Python's own included), sums within a tolerance scaled
 * to the output's magnitude (`relative`: of the mean magnitude, for a known ill-conditioned
 * output). Returns the largest difference of a sampled value.
 */
export function compare(label: string, t: Tensor, s: Summary, relative = 1e-5): number {
  assert.deepEqual(t.shape, s.shape, `${label} shape`);
  const flat = t.reshape([-1]).data() as Float32Array;
  let maxDiff = 0;
  s.indices.forEach((idx, i) => { maxDiff = Math.max(maxDiff, Math.abs(flat[idx] - s.values[i])); });
  const tolerance = Math.max(1e-4, (relative * s.absSum) / flat.length);
  assert.ok(maxDiff <= tolerance, `${label}: max abs difference ${maxDiff} (tolerance ${tolerance.toExponential(1)})`);
  const sum = t.double().sum().item();
  const absSum = t.double().abs().sum().item();
  const loose = relative / 1e-5;
  assert.ok(Math.abs(sum - s.sum) <= 1e-4 * loose * Math.max(1, s.absSum / 100), `${label}: sum ${sum} vs ${s.sum}`);
  assert.ok(Math.abs(absSum - s.absSum) <= relative * s.absSum + 1e-3, `${label}: abs sum ${absSum} vs ${s.absSum}`);
  return maxDiff;
}
