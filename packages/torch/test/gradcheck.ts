// Finite-difference gradient checking for tests: compares autograd's gradients of a scalar
// function with central differences computed from forward evaluations alone.
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';

export interface GradcheckResult {
  maxAbsError: number;
  maxAbs: number;
}

/**
 * f maps float64 inputs to any tensor; the checked scalar is sum(f(x) * r) with fixed random r,
 * so every output element contributes. Inputs are flat Float64Arrays with shapes.
 */
export function gradcheck(
  f: (inputs: Tensor[]) => Tensor,
  inputs: { data: Float64Array; shape: number[] }[],
  eps = 1e-6,
): GradcheckResult {
  return torch.tidy(() => {
    const make = (values: Float64Array[], grad: boolean) =>
      values.map((v, i) => torch.tensor(v, { shape: inputs[i].shape, requiresGrad: grad }));
    const base = inputs.map((x) => Float64Array.from(x.data));
    torch.manualSeed(1234);
    const probe = f(make(base, false));
    const r = torch.randn(probe.shape, { dtype: 'float64' });
    const scalar = (values: Float64Array[]): number =>
      torch.tidy(() => torch.noGrad(() => f(make(values, false)).mul(r).sum().item()));

    const xs = make(base, true);
    f(xs).mul(r).sum().backward();
    let maxAbsError = 0;
    let maxAbs = 0;
    xs.forEach((x, k) => {
      const analytic = x.grad!.data() as Float64Array;
      for (let i = 0; i < base[k].length; i++) {
        const saved = base[k][i];
        base[k][i] = saved + eps;
        const up = scalar(base);
        base[k][i] = saved - eps;
        const down = scalar(base);
        base[k][i] = saved;
        const numeric = (up - down) / (2 * eps);
        maxAbsError = Math.max(maxAbsError, Math.abs(numeric - analytic[i]));
        maxAbs = Math.max(maxAbs, Math.abs(numeric));
      }
    });
    return { maxAbsError, maxAbs };
  });
}

/** Deterministic pseudo-random values in [-1, 1) (independent of libtorch's generator). */
export function randomValues(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
