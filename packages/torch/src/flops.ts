// FLOP counting: the convolutions and matrix products fn runs, counted at the dispatcher (see
// native/flops.cc), 2 FLOPs per multiply-add as GFLOP/s figures are usually given.
import { native } from './native.js';

export interface FlopCount<T> {
  result: T;
  /** Every aten::convolution (conv1d/2d/3d, transposed too). */
  convolution: number;
  /** mm, bmm, addmm, baddbmm, addbmm (what linear, matmul and einsum run). */
  matmul: number;
  total: number;
}

/**
 * Run fn (synchronous) and count the FLOPs of its convolutions and matrix products, a backward
 * pass in fn included on CPU (each convolution gradient it computes costs the forward's products;
 * CUDA backward runs on libtorch's device threads and is not counted).
 */
export function countFlops<T>(fn: () => T): FlopCount<T> {
  const [result, convolution, matmul] = native.withFlopCount(fn);
  if (result instanceof Promise) throw new TypeError('countFlops: fn must be synchronous (it returned a Promise)');
  return { result, convolution, matmul, total: convolution + matmul };
}
