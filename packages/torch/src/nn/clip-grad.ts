// torch.nn.utils' gradient clipping, with PyTorch 1.13's arithmetic (so a clipped run equals
// PyTorch's): the joint norm is the norm of the per-gradient norms; the scale is
// clamp(maxNorm / (norm + 1e-6), max 1), multiplied into every gradient in place.
import { noGrad } from '../autograd.js';
import { tidy } from '../memory.js';
import { stack } from '../generated/ops.js';
import { tensor } from '../factories.js';
import type { Tensor } from '../tensor.js';

function gradientsOf(parameters: Tensor[] | Tensor, what: string): Tensor[] {
  const list = Array.isArray(parameters) ? parameters : [parameters];
  return list.map((p, i) => {
    if (!p || typeof (p as Tensor).requiresGrad !== 'boolean') throw new TypeError(`${what}: parameters[${i}] is not a Tensor`);
    return p.grad;
  }).filter((g): g is Tensor => g !== null);
}

/**
 * Scale the gradients of `parameters` in place so that their joint `normType`-norm (as if they
 * were one vector) is at most `maxNorm`. Returns that norm before clipping, a scalar Tensor
 * (PyTorch's clip_grad_norm_). Parameters without a gradient are skipped.
 */
export function clipGradNorm_(parameters: Tensor[] | Tensor, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): Tensor {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw new RangeError(`clipGradNorm_: invalid maxNorm ${String(maxNorm)} (must be a number >= 0)`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new RangeError(`clipGradNorm_: invalid normType ${String(normType)} (must be > 0, or Infinity)`);
  return tidy(() => noGrad(() => {
    const grads = gradientsOf(parameters, 'clipGradNorm_');
    if (grads.length === 0) return tensor(0);
    const norms = grads.map((g) => (normType === Infinity ? g.detach().abs().max() : g.detach().norm(normType)));
    const total = normType === Infinity ? (norms.length === 1 ? norms[0] : stack(norms).max()) : stack(norms).norm(normType);
    if (opts.errorIfNonfinite && !Number.isFinite(total.item())) {
      throw new Error(`clipGradNorm_: the total norm of order ${normType} of the gradients is non-finite, so it cannot be clipped`);
    }
    const scale = total.add(1e-6).reciprocal().mul(maxNorm).clampMax(1);
    for (const g of grads) g.mul_(scale);
    return total; // tidy keeps what it returns
  }));
}

/** Clamp every gradient of `parameters` to [-clipValue, clipValue] in place (PyTorch's clip_grad_value_). */
export function clipGradValue_(parameters: Tensor[] | Tensor, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new RangeError(`clipGradValue_: invalid clipValue ${String(clipValue)} (must be a number >= 0)`);
  tidy(() => noGrad(() => {
    for (const g of gradientsOf(parameters, 'clipGradValue_')) g.clamp_(-clipValue, clipValue);
  }));
}
