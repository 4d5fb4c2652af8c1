// @geoseg/torch: libtorch for TypeScript. `import * as torch from '@geoseg/torch'`.
import { native, type CpuCacheStats } from './native.js';
export type { CpuCacheStats } from './native.js';
import { Tensor } from './tensor.js';
import { installTensorMethods } from './generated/tensor-methods.js';

installTensorMethods(Tensor.prototype);

export * from './generated/ops.js';
export { Tensor } from './tensor.js';
export type { ToOptions } from './tensor.js';
export type { DType, Device, Scalar, Layout, MemoryFormat, TypedArray, NestedArray } from './types.js';
export { tensor, fromBuffer, type TensorOptions } from './factories.js';
export { tidy, keep, dispose, memoryStats, type MemoryStats } from './memory.js';
export { noGrad, enableGrad, inferenceMode, isGradEnabled, isInferenceModeEnabled, autocast, isAutocastEnabled, type AutocastOptions } from './autograd.js';
export { loadSafetensors, saveSafetensors, safetensorsMetadata, safetensorsFromBuffer } from './safetensors.js';
export { load, save, jit, ScriptModule } from './serialization.js';
export { countFlops, type FlopCount } from './flops.js';
export { ops } from './dynamic.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as amp from './amp/index.js';
export * as distributed from './distributed/index.js';

/** Seed every random generator (CPU, and CUDA when present). */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}

/** The CPU generator's state (for exact resume); restore with setRngState. */
export function getRngState(): Tensor {
  return native.getRngState() as Tensor;
}

export function setRngState(state: Tensor): void {
  native.setRngState(state);
}

/** Threads libtorch uses inside one op (intra-op parallelism). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: need a positive integer, got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Cap glibc's malloc arenas (per-thread heaps) for the rest of the process. With libtorch's worker
 * threads each keeping an arena of freed activations, 1 lowers peak memory of inference and
 * training without slowing them (measured on UNet-ResNet18). Call it before heavy work: existing
 * arenas stay. Returns false (and does nothing) where the C library is not glibc.
 */
export function setMallocArenaMax(n: number): boolean {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setMallocArenaMax: need a positive integer, got ${n}`);
  return native.setMallocArenaMax(n);
}

/** Give freed heap memory back to the system now (glibc malloc_trim). Returns false elsewhere or when nothing was released. */
export function mallocTrim(): boolean {
  return native.mallocTrim();
}

/**
 * The caching CPU allocator (on unless GEOSEG_CPU_CACHE=0 is set when the addon loads): freed
 * blocks of 1 MB and more are kept by size for the next tensor of that size, so a loop's large
 * activations stop page-faulting fresh memory on every iteration (a third of an HRNet training
 * step's time here). Live and cached blocks together stay within the peak of live tensor bytes so
 * far (GEOSEG_CPU_CACHE_SLACK=1.25 allows 1.25x the peak: fewer misses, more memory).
 */
export function cpuCacheStats(): CpuCacheStats {
  return native.cpuCacheStats();
}

/** Release every cached CPU block to the C library now; returns the bytes released. */
export function emptyCpuCache(): number {
  return native.emptyCpuCache();
}

export const cuda = {
  isAvailable(): boolean {
    return native.cudaInfo().available;
  },
  deviceCount(): number {
    return native.cudaInfo().deviceCount;
  },
};

/** libtorch's version and build configuration. */
export function buildInfo(): { version: string; config: string; parallel: string; cxx11Abi: boolean } {
  return native.buildInfo();
}
