// Loads the C++ addon (build/Release/torch_native.node) and describes what it exports.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface SchemaArg {
  name: string;
  kind: string;
  type: string;
  optional: boolean;
  n: number;
  hasDefault: boolean;
  kwOnly: boolean;
  isOut: boolean;
  isWrite: boolean;
}

export interface SchemaInfo {
  name: string;
  overload: string;
  schema: string;
  supported: boolean;
  args: SchemaArg[];
  returns: { name: string; type: string; isWrite: boolean }[];
}

export interface NativeScriptModule {
  runMethod(name: string, ...inputs: unknown[]): unknown;
  train(on?: boolean): NativeScriptModule;
  isTraining(): boolean;
  namedParameters(): Record<string, unknown>;
  namedBuffers(): Record<string, unknown>;
  methodNames(): string[];
}

/**
 * The raw addon. Tensor arguments of the per-tensor functions are handles: a slot of the native
 * tensor table and that slot's generation, so a handle kept past its tensor reads as disposed.
 */
export interface Native {
  init(idKey: symbol, makeTensor: (handle: number) => unknown, shared: Float64Array): void;
  release(id: number): void;
  releaseMany(handles: Float64Array, count: number): void;
  shape(id: number): number[];
  dtype(id: number): string;
  strides(id: number): number[];
  isContiguous(id: number): boolean;
  device(id: number): string;
  requiresGrad(id: number): boolean;
  setRequiresGrad(id: number, on: boolean): void;
  grad(id: number): number;
  setGrad(id: number, grad: number): void;
  isLeaf(id: number): boolean;
  gradFn(id: number): string | null;
  backward(id: number, grad: number, retainGraph: boolean | undefined, createGraph: boolean): void;
  item(id: number): number | boolean;
  data(id: number): ArrayBufferView;
  bytes(id: number): Buffer;
  toString(id: number): string;
  isSame(a: number, b: number): boolean;
  fromBuffer(source: ArrayBufferView | ArrayBuffer, dtype: string, shape: readonly number[]): number;
  opGroup(name: string): number;
  callGroup(id: number, ...args: unknown[]): unknown;
  /** callGroup with the positional arguments' handles already in the shared array (see tensor.ts). */
  callGroupIds(id: number, ...args: unknown[]): unknown;
  listSchemas(): SchemaInfo[];
  withGradMode<T>(enabled: boolean, fn: () => T): T;
  withInferenceMode<T>(fn: () => T, enabled?: boolean): T;
  isGradEnabled(): boolean;
  isInferenceMode(): boolean;
  manualSeed(seed: number | bigint): void;
  getRngState(): unknown;
  setRngState(state: unknown): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setMallocArenaMax(n: number): boolean;
  mallocTrim(): boolean;
  cudaInfo(): { available: boolean; deviceCount: number };
  memoryStats(): { liveTensors: number; createdTensors: number; externalBytes: number };
  buildInfo(): { version: string; config: string; parallel: string; cxx11Abi: boolean };
  cpuCacheStats(): CpuCacheStats;
  emptyCpuCache(): number;
  pickleSave(value: unknown): Buffer;
  ScriptModule: new (path: string, device?: string) => NativeScriptModule;
  withAutocast<T>(enabled: boolean, dtype: string, fn: () => T, device?: 'cpu' | 'cuda'): T;
  withFlopCount<T>(fn: () => T): [T, number, number];
  isAutocastEnabled(device?: 'cpu' | 'cuda'): boolean;
  distributed: NativeDistributed;
}

/** c10d's entry points (native/distributed.cc); all but `backends` exist only in a build with Gloo. */
export interface NativeDistributed {
  backends(): { gloo: boolean; nccl: boolean };
  tcpStore?(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number): unknown;
  storePort?(store: unknown): number;
  storeSet?(store: unknown, key: string, value: Buffer): void;
  storeGet?(store: unknown, key: string): Buffer;
  storeAdd?(store: unknown, key: string, by: number): number;
  storeCheck?(store: unknown, keys: string[]): boolean;
  storeWait?(store: unknown, keys: string[], timeoutMs: number): void;
  storeDelete?(store: unknown, key: string): boolean;
  newGloo?(store: unknown, rank: number, size: number, timeoutMs: number, iface: string, hostname: string): unknown;
  newNccl?(store: unknown, rank: number, size: number, timeoutMs: number): unknown;
  allReduce?(group: unknown, tensors: unknown[], op: string, wait: boolean): unknown;
  broadcast?(group: unknown, tensors: unknown[], root: number, wait: boolean): unknown;
  allGather?(group: unknown, outputs: unknown[], input: unknown, wait: boolean): unknown;
  barrier?(group: unknown, wait: boolean): unknown;
  workWait?(work: unknown, timeoutMs: number): void;
  workIsCompleted?(work: unknown): boolean;
  syncBatchNorm?(group: unknown, x: unknown, weight: unknown, bias: unknown, runningMean: unknown, runningVar: unknown, momentum: number, eps: number): unknown;
  backwardAveraged?(group: unknown, loss: unknown, parameters: unknown[], buckets: number[][]): { waitSeconds: number; startedInBackward: number };
}

/** The caching CPU allocator's counters (see cpuCacheStats in index.ts). */
export interface CpuCacheStats {
  /** False when GEOSEG_CPU_CACHE=0 turned it off (libtorch's own allocator is in use). */
  enabled: boolean;
  /** Blocks of 1 MB and more served from the cache, and from malloc. */
  hits: number;
  misses: number;
  /** Cached blocks released to keep the footprint within the peak. */
  evictions: number;
  /** Bytes of large blocks in tensors now, kept free for reuse, and the most ever in tensors. */
  liveBytes: number;
  cachedBytes: number;
  peakLiveBytes: number;
}

function load(): Native {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  // GEOSEG_TORCH_ADDON selects another build of the addon (the AddressSanitizer one, see README).
  const addon = process.env.GEOSEG_TORCH_ADDON || join(root, 'build', 'Release', 'torch_native.node');
  if (!existsSync(addon)) {
    throw new Error(`@geoseg/torch: native addon not built (${addon} is missing): run \`npm run setup\` in the repository root`);
  }
  return createRequire(import.meta.url)(addon) as Native;
}

export const native: Native = load();
