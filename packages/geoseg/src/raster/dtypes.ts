// GDAL data types and the libtorch dtypes they are read into. libtorch 1.13 has no uint16 or
// uint32, so those widen (GDAL converts while reading).
import type { DType } from '@geoseg/torch';

export interface PixelType {
  /** GDAL type asked for when reading. */
  gdal: string;
  dtype: DType;
  array: new (n: number) => Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const BYTE: PixelType = { gdal: 'Byte', dtype: 'uint8', array: Uint8Array };
const INT16: PixelType = { gdal: 'Int16', dtype: 'int16', array: Int16Array };
const INT32: PixelType = { gdal: 'Int32', dtype: 'int32', array: Int32Array };
const FLOAT32: PixelType = { gdal: 'Float32', dtype: 'float32', array: Float32Array };
const FLOAT64: PixelType = { gdal: 'Float64', dtype: 'float64', array: Float64Array };

/** How a band of GDAL type `t` is read. */
export function readTypeFor(gdalType: string | null): PixelType {
  switch (gdalType) {
    case 'Byte': return BYTE;
    case 'Int16': return INT16;
    case 'UInt16':
    case 'Int32': return INT32;
    case 'Float32': return FLOAT32;
    default: return FLOAT64; // UInt32, Float64, and anything wider
  }
}

/** The GDAL type a tensor of this dtype is written as. */
export function writeTypeFor(dtype: DType): PixelType {
  switch (dtype) {
    case 'uint8':
    case 'bool': return BYTE;
    case 'int16': return INT16;
    case 'int32': return INT32;
    case 'float32': return FLOAT32;
    case 'float64': return FLOAT64;
    default: throw new TypeError(`no GDAL type for tensors of dtype ${dtype} (convert to uint8, int16, int32, float32 or float64)`);
  }
}
