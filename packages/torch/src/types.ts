// Names shared by the whole API: dtypes, devices, scalars and layouts as PyTorch spells them.

/** Element types, by PyTorch's names (the first of each pair is what `tensor.dtype` returns). */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'
  | 'complex64' | 'complex128'
  | 'float' | 'double' | 'half' | 'long' | 'int' | 'short';

/** 'cpu', 'cuda', 'cuda:1', … (whatever c10::Device parses). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | (string & {});

/** A number argument of a libtorch op. Integral numbers are passed as integers. */
export type Scalar = number | boolean | bigint;

export type Layout = 'strided' | 'sparse';

export type MemoryFormat = 'contiguous' | 'channelsLast' | 'channelsLast3d' | 'preserve';

export type TypedArray =
  | Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array
  | BigInt64Array | Uint16Array;

/** Nested JS arrays of numbers (or booleans), as returned by `tensor.toArray()`. */
export type NestedArray = number | boolean | NestedArray[];
