// The JS Tensor: a plain object holding a handle to a slot of the native tensor table (the slot and
// its generation: a handle that outlives its tensor can never reach the slot's next one). Each
// Tensor owns one reference to an at::Tensor; dispose() (or the end of its tidy() scope, or
// garbage collection as a backstop) drops it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import { native } from './native.js';
import type { DType, Device, MemoryFormat, NestedArray, TypedArray } from './types.js';
import type { TensorMethods } from './generated/tensor-methods.js';

/** @internal The handle of a tensor; -1 once disposed. */
export const kId = Symbol('torch.tensorId');
/** @internal Set once the garbage collector owns the tensor (kept, or outside any scope). */
export const kRegistered = Symbol('torch.registered');

/** A tidy() scope: every tensor made while it is active, until it ends. */
export interface Scope {
  tensors: Tensor[];
  parent: Scope | undefined;
}

/** @internal */
export const scopeStorage = new AsyncLocalStorage<Scope>();
/**
 * @internal Number of tidy() scopes open anywhere (skips the store lookup when zero), and the
 * scope whose function is running synchronously right now (a faster answer than the store).
 */
export const openScopes: { count: number; sync: Scope | undefined } = { count: 0, sync: undefined };

// Backstop for tensors nobody disposed: the garbage collector releases their handle (a no-op if
// that handle was released already).
const registry = new FinalizationRegistry<number>((id) => native.release(id));

/** @internal Give t a finalizer (it is no longer owned by a tidy() scope). */
export function registerFinalizer(t: Tensor): void {
  if (!t[kRegistered] && t[kId] >= 0) {
    t[kRegistered] = true;
    registry.register(t, t[kId], t);
  }
}

/** @internal Drop t's reference now. */
export function releaseTensor(t: Tensor): void {
  const id = t[kId];
  if (id < 0) return;
  t[kId] = -1;
  if (t[kRegistered]) {
    registry.unregister(t);
    t[kRegistered] = false;
  }
  native.release(id);
}

// Tensors made outside any tidy() scope get their finalizer in a batch when the current task
// ends: most are disposed long before, and registering costs as much as a small op. Nothing is
// lost by waiting, since finalizers only run between tasks anyway.
let unregistered: Tensor[] = [];
function registerPending(): void {
  const batch = unregistered;
  unregistered = [];
  for (const t of batch) registerFinalizer(t);
}

/** @internal A JS Tensor for a fresh handle. */
export function makeTensor(id: number): Tensor {
  const t = new (Tensor as unknown as new (id: number) => Tensor)(id);
  if (openScopes.count > 0) {
    const scope = openScopes.sync ?? scopeStorage.getStore();
    if (scope) {
      scope.tensors.push(t);
      return t;
    }
  }
  if (unregistered.length === 0) setImmediate(registerPending);
  unregistered.push(t);
  return t;
}

/**
 * @internal Memory shared with the addon. [0]: set to 1 when an op call returned a bare tensor
 * handle. [1 + i]: the handle of argument i of a callGroupIds call (see slotOf). The generated
 * wrappers read every argument's handle before writing any: reading one may run JS (a Proxy
 * trap) that calls ops and reuses this array.
 */
export const shared = new Float64Array(32);
native.init(kId, makeTensor, shared);

/** @internal Turn what an op call returned into the JS result. */
export function result(r: unknown): any {
  if (shared[0] === 1) {
    shared[0] = 0;
    return makeTensor(r as number);
  }
  return r;
}

/** @internal The handle of v if it is a Tensor (-1 when disposed), else -2. */
export function slotOf(v: unknown): number {
  return typeof v === 'object' && v !== null ? (v as Tensor)[kId] ?? -2 : -2;
}

/** @internal */
export function idOf(t: Tensor, what: string): number {
  const id = t?.[kId];
  if (id === undefined) throw new TypeError(`${what}: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (id < 0) throw new Error(`${what}: tensor was disposed (used after dispose() or after its tidy() scope ended)`);
  return id;
}

function nest(flat: ArrayLike<number | bigint>, shape: number[], dtype: string): NestedArray {
  const conv = dtype === 'bool' ? (v: number | bigint) => v !== 0 : (v: number | bigint) => Number(v);
  if (shape.length === 0) return conv(flat[0]);
  let offset = 0;
  const build = (d: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? conv(flat[offset++]) : build(d + 1));
    return out;
  };
  return build(0);
}

export interface ToOptions {
  dtype?: DType;
  device?: Device;
  nonBlocking?: boolean;
  copy?: boolean;
  memoryFormat?: MemoryFormat;
}

const DTYPE_NAMES = new Set<string>(['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool',
  'complex64', 'complex128', 'float', 'double', 'half', 'long', 'int', 'short']);

let toGroup = -1;

export interface Tensor extends TensorMethods {}

/**
 * A libtorch tensor. Made by factories (`torch.tensor`, `torch.zeros`, …) and ops, never with `new`.
 * Methods follow PyTorch's names in camelCase; every ATen op whose first argument is `self` is a
 * method (`x.add(y)`, `x.softmax(1)`, `x.maxPool2d([2, 2])`).
 */
export class Tensor {
  /** @internal */
  [kId]: number;
  /** @internal */
  [kRegistered]: boolean;

  /** @internal Use torch.tensor() and the other factories. */
  protected constructor(id: number) {
    this[kId] = id;
    this[kRegistered] = false;
  }

  get shape(): number[] { return native.shape(idOf(this, 'Tensor.shape')); }
  get ndim(): number { return this.shape.length; }
  get dtype(): DType { return native.dtype(idOf(this, 'Tensor.dtype')) as DType; }
  get device(): string { return native.device(idOf(this, 'Tensor.device')); }
  get requiresGrad(): boolean { return native.requiresGrad(idOf(this, 'Tensor.requiresGrad')); }
  set requiresGrad(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`Tensor.requiresGrad: expected a boolean, got ${typeof on}`);
    native.setRequiresGrad(idOf(this, 'Tensor.requiresGrad'), on);
  }
  /** The accumulated gradient (a new Tensor handle each time), or null. */
  get grad(): Tensor | null {
    const id = native.grad(idOf(this, 'Tensor.grad'));
    return id < 0 ? null : makeTensor(id);
  }
  set grad(g: Tensor | null) {
    native.setGrad(idOf(this, 'Tensor.grad'), g === null || g === undefined ? -1 : idOf(g, 'Tensor.grad'));
  }
  get isLeaf(): boolean { return native.isLeaf(idOf(this, 'Tensor.isLeaf')); }
  /** Name of the autograd node that made this tensor (e.g. 'AddBackward0'), or null. */
  get gradFn(): string | null { return native.gradFn(idOf(this, 'Tensor.gradFn')); }
  get isDisposed(): boolean { return this[kId] < 0; }

  /** `size()` is the shape; `size(dim)` one dimension (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    const shape = this.shape;
    if (dim === undefined) return shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (!Number.isInteger(d) || d < 0 || d >= shape.length) throw new RangeError(`Tensor.size: dimension ${dim} out of range for a ${shape.length}-d tensor`);
    return shape[d];
  }

  /** Number of elements. */
  numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  /** Number of dimensions. */
  dim(): number { return this.shape.length; }
  /** Strides in elements, per dimension. */
  stride(): number[] { return native.strides(idOf(this, 'Tensor.stride')); }
  isContiguous(): boolean { return native.isContiguous(idOf(this, 'Tensor.isContiguous')); }

  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const g = gradient === undefined || gradient === null ? -1 : idOf(gradient, 'Tensor.backward');
    native.backward(idOf(this, 'Tensor.backward'), g, opts.retainGraph, opts.createGraph ?? false);
  }

  /** The value of a one-element tensor. */
  item(): number {
    return native.item(idOf(this, 'Tensor.item')) as number;
  }

  /**
   * A copy of the elements in row-major order as a typed array: Float32Array for float32,
   * Float64Array, BigInt64Array for int64, Int32Array, Int16Array, Int8Array, Uint8Array for
   * uint8 and bool; float16/bfloat16 widen to Float32Array.
   */
  data(): TypedArray {
    return native.data(idOf(this, 'Tensor.data')) as TypedArray;
  }

  /** The raw little-endian bytes of the elements (any dtype). */
  bytes(): Buffer {
    return native.bytes(idOf(this, 'Tensor.bytes'));
  }

  /** The elements as nested JS arrays (PyTorch's `tolist()`); int64 becomes number. */
  toArray(): NestedArray {
    return nest(this.data() as ArrayLike<number | bigint>, this.shape, this.dtype);
  }

  toString(): string {
    return this[kId] < 0 ? 'Tensor(disposed)' : native.toString(this[kId]);
  }

  [inspect.custom](): string {
    if (this[kId] < 0) return 'Tensor(disposed)';
    const s = this.shape;
    const head = `Tensor(shape=[${s.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
    return s.reduce((a, b) => a * b, 1) <= 64 ? `${head}\n${this.toString()}` : head;
  }

  /** Whether other holds the very same tensor (not just equal values). */
  isSame(other: Tensor): boolean {
    return native.isSame(idOf(this, 'Tensor.isSame'), idOf(other, 'Tensor.isSame'));
  }

  /** Release this tensor's memory now. Using it afterwards throws. Idempotent. */
  dispose(): void {
    releaseTensor(this);
  }

  /**
   * Keep this tensor alive past the end of the tidy() scope that made it (whichever async chain
   * calls keep()): from now on dispose() or the garbage collector frees it.
   */
  keep(): this {
    idOf(this, 'Tensor.keep');
    registerFinalizer(this); // scopes skip registered tensors when they end
    return this;
  }

  /**
   * Convert dtype and/or device: `x.to('float64')`, `x.to('cuda')`, `x.to(other)` (other's dtype
   * and device), `x.to({ dtype, device, copy, nonBlocking, memoryFormat })`.
   */
  to(target: DType | Device | Tensor | ToOptions): Tensor {
    let opts: ToOptions;
    if (target instanceof Tensor) opts = { dtype: target.dtype, device: target.device };
    else if (typeof target === 'string') opts = DTYPE_NAMES.has(target) ? { dtype: target as DType } : { device: target };
    else if (target && typeof target === 'object') opts = target;
    else throw new TypeError(`Tensor.to: expected a dtype, a device, a Tensor or an options object, got ${typeof target}`);
    if (toGroup < 0) toGroup = native.opGroup('aten::to.dtype_layout');
    return result(native.callGroup(toGroup, this, {
      dtype: opts.dtype ?? null, device: opts.device ?? null, nonBlocking: opts.nonBlocking ?? false,
      copy: opts.copy ?? false, memoryFormat: opts.memoryFormat ?? null,
    }));
  }

  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  byte(): Tensor { return this.to('uint8'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
}
