// Autograd and dispatch modes, as guards set on the thread that runs the ops.
import { native } from './native.js';

function syncOnly<T>(name: string, value: T): T {
  if (value instanceof Promise) {
    throw new TypeError(`${name}: the function returned a Promise; grad modes are per-thread guards and only cover synchronous code (do the async part outside)`);
  }
  return value;
}

/** Run fn without recording autograd history (PyTorch's `torch.no_grad()`). fn must be synchronous. */
export function noGrad<T>(fn: () => T): T {
  return syncOnly('noGrad', native.withGradMode(false, fn));
}

/** Run fn with autograd recording on, even inside noGrad(). fn must be synchronous. */
export function enableGrad<T>(fn: () => T): T {
  return syncOnly('enableGrad', native.withGradMode(true, fn));
}

/**
 * Run fn in inference mode (PyTorch's `torch.inference_mode()`): faster than noGrad, and the
 * tensors made inside can never be used in autograd later. fn must be synchronous.
 */
export function inferenceMode<T>(fn: () => T): T {
  return syncOnly('inferenceMode', native.withInferenceMode(fn, true));
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export function isInferenceModeEnabled(): boolean {
  return native.isInferenceMode();
}

export interface AutocastOptions {
  /** 'cpu' (bfloat16) or 'cuda' (float16 or bfloat16; a CUDA libtorch). */
  device?: 'cpu' | 'cuda';
  /** The lower precision for the ops on autocast's lists (convolutions, matrix products, …). */
  dtype?: 'bfloat16' | 'float16';
  enabled?: boolean;
}

/**
 * Run fn under automatic mixed precision (PyTorch's `torch.autocast('cpu', torch.bfloat16)`, or
 * `torch.autocast('cuda', torch.float16)`): convolutions, matrix products and the other ops on
 * autocast's lower-precision list run in the lower precision (their inputs cast, weights' casts
 * cached for the region), the ops that need range run in float32. fn must be synchronous.
 */
export function autocast<T>(opts: AutocastOptions, fn: () => T): T {
  const device = opts.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new TypeError(`autocast: device '${device}' is not supported (cpu, cuda)`);
  const dtype = opts.dtype ?? (device === 'cpu' ? 'bfloat16' : 'float16');
  // libtorch 1.13's CPU autocast has lists for bfloat16 only
  if (device === 'cpu' && dtype !== 'bfloat16') throw new TypeError(`autocast: CPU autocast runs in bfloat16, not ${dtype} (float16 mixed precision needs device 'cuda')`);
  return syncOnly('autocast', native.withAutocast(opts.enabled ?? true, dtype, fn, device));
}

export function isAutocastEnabled(device: 'cpu' | 'cuda' = 'cpu'): boolean {
  return native.isAutocastEnabled(device);
}
