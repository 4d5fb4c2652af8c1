// Making tensors from JS data.
import { native } from './native.js';
import { makeTensor, type Tensor } from './tensor.js';
import type { DType, Device, NestedArray, TypedArray } from './types.js';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
  /** Shape for flat data (typed arrays or flat number arrays); defaults to the data's own shape. */
  shape?: readonly number[];
}

const TYPED_DTYPE: [Function, DType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int32Array, 'int32'], [Int16Array, 'int16'],
  [Int8Array, 'int8'], [Uint8Array, 'uint8'], [BigInt64Array, 'int64'],
];

const ELEMENT: Record<string, { array: new (n: number) => TypedArray; big?: boolean }> = {
  float32: { array: Float32Array }, float64: { array: Float64Array }, int32: { array: Int32Array },
  int16: { array: Int16Array }, int8: { array: Int8Array }, uint8: { array: Uint8Array }, bool: { array: Uint8Array },
  int64: { array: BigInt64Array, big: true },
};

const CANONICAL: Record<string, DType> = { float: 'float32', double: 'float64', half: 'float16', long: 'int64', int: 'int32', short: 'int16' };

function typedDtype(data: ArrayBufferView): DType | undefined {
  for (const [ctor, dtype] of TYPED_DTYPE) if (data instanceof (ctor as any)) return dtype;
  return undefined;
}

function shapeOf(data: NestedArray): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], depth: number, out: (number | boolean)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError('torch.tensor: ragged nested array (sub-arrays of different depths)');
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`torch.tensor: ragged nested array (expected length ${shape[depth]} at depth ${depth})`);
  }
  for (const v of data) flatten(v, shape, depth + 1, out);
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  let out = t;
  if (opts.device && opts.device !== 'cpu') {
    out = t.to({ device: opts.device });
    t.dispose();
  }
  if (opts.requiresGrad) out.requiresGrad = true;
  return out;
}

/**
 * A tensor from JS data (always copied): a typed array (dtype from its kind, shape from
 * `opts.shape` or flat), nested arrays of numbers or booleans (float32 unless `opts.dtype`; JS
 * numbers do not say whether they are integers), or a single number.
 */
export function tensor(data: NestedArray | TypedArray | ArrayBufferView, opts: TensorOptions = {}): Tensor {
  const dtypeIn = opts.dtype ? CANONICAL[opts.dtype] ?? opts.dtype : undefined;
  if (ArrayBuffer.isView(data)) {
    const own = typedDtype(data);
    if (!own) throw new TypeError('torch.tensor: unsupported typed array (use Float32Array, Float64Array, Int32Array, Int16Array, Int8Array, Uint8Array or BigInt64Array)');
    const n = data.byteLength / (data as TypedArray).BYTES_PER_ELEMENT;
    const shape = opts.shape ?? [n];
    let t = makeTensor(native.fromBuffer(data, own, shape));
    if (dtypeIn && dtypeIn !== own) {
      const converted = t.to(dtypeIn);
      t.dispose();
      t = converted;
    }
    return finish(t, opts);
  }
  const shape = opts.shape ? [...opts.shape] : shapeOf(data as NestedArray);
  const flat: (number | boolean)[] = [];
  if (opts.shape) {
    const deep = (d: NestedArray): void => { if (Array.isArray(d)) d.forEach(deep); else flat.push(d); };
    deep(data as NestedArray);
    const n = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== n) throw new TypeError(`torch.tensor: shape [${shape.join(', ')}] holds ${n} elements but the data has ${flat.length}`);
  } else {
    flatten(data as NestedArray, shape, 0, flat);
  }
  const dtype = dtypeIn ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
  const el = ELEMENT[dtype];
  if (el) {
    const arr = new el.array(flat.length);
    for (let i = 0; i < flat.length; i++) (arr as any)[i] = el.big ? BigInt(Number(flat[i])) : Number(flat[i]);
    return finish(makeTensor(native.fromBuffer(arr, dtype, shape)), opts);
  }
  // float16, bfloat16, complex: build in float64 and convert in libtorch.
  const t = makeTensor(native.fromBuffer(Float64Array.from(flat, Number), 'float64', shape));
  const converted = t.to(dtype);
  t.dispose();
  return finish(converted, opts);
}

/**
 * A tensor holding the bytes of a typed array or ArrayBuffer as the given dtype (any dtype,
 * float16/bfloat16 included, from their raw bits), with the given shape. The bytes are copied.
 */
export function fromBuffer(source: ArrayBufferView | ArrayBuffer, dtype: DType, shape: readonly number[]): Tensor {
  return makeTensor(native.fromBuffer(source, dtype, shape));
}
