// The safetensors format: 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.js';
import { native } from './native.js';
import { makeTensor, idOf, type Tensor } from './tensor.js';
import type { DType } from './types.js';

const TO_ST: Record<string, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16',
  int8: 'I8', uint8: 'U8', bool: 'BOOL', complex64: 'C64',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const ITEM_SIZE: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, C64: 8 };

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function parseHeader(path: string, buf: Buffer): { header: Record<string, unknown>; dataStart: number } {
  if (buf.length < 8) throw new Error(`${path}: not a safetensors file (${buf.length} bytes, shorter than the 8-byte header length)`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.length - 8)) throw new Error(`${path}: not a safetensors file (header length ${n} exceeds the file size ${buf.length})`);
  const len = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  } catch (e) {
    throw new Error(`${path}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${path}: safetensors header is not a JSON object`);
  return { header: header as Record<string, unknown>, dataStart: 8 + len };
}

/** The `__metadata__` strings of a safetensors file (empty when it has none). */
export function safetensorsMetadata(path: string): Record<string, string> {
  const { header } = parseHeader(path, readFileSync(path));
  return (header.__metadata__ as Record<string, string> | undefined) ?? {};
}

/** Read every tensor of a safetensors file (CPU tensors, by name). */
export function loadSafetensors(path: string): Record<string, Tensor> {
  return safetensorsFromBuffer(readFileSync(path), path);
}

/**
 * Tensors of a safetensors file already in memory (read with fs.promises, say, so that the read
 * overlaps compute). `path` names the source in errors.
 */
export function safetensorsFromBuffer(buf: Buffer, path = 'safetensors buffer'): Record<string, Tensor> {
  const { header, dataStart } = parseHeader(path, buf);
  const dataLength = buf.length - dataStart;
  const out: Record<string, Tensor> = {};
  try {
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const e = raw as HeaderEntry;
      const dtype = FROM_ST[e?.dtype];
      if (!dtype) throw new Error(`${path}: tensor '${name}' has unsupported dtype ${JSON.stringify(e?.dtype)}`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${path}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
      const [begin, end] = Array.isArray(e.data_offsets) ? e.data_offsets : [NaN, NaN];
      const expected = e.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[e.dtype];
      if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end <= dataLength && end - begin === expected)) {
        throw new Error(`${path}: tensor '${name}' has data_offsets ${JSON.stringify(e.data_offsets)}, expected ${expected} bytes within the ${dataLength}-byte data section`);
      }
      out[name] = makeTensor(native.fromBuffer(buf.subarray(dataStart + begin, dataStart + end), dtype, e.shape));
    }
  } catch (err) {
    for (const t of Object.values(out)) t.dispose();
    throw err;
  }
  return out;
}

/** Write tensors (by name) and optional string metadata to a safetensors file, atomically. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`saveSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    idOf(t, `saveSafetensors: '${name}'`);
    const st = TO_ST[t.dtype];
    if (!st) throw new TypeError(`saveSafetensors: tensor '${name}' has dtype ${t.dtype}, which safetensors cannot store`);
    const bytes = t.bytes();
    header[name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8; // keep the data 8-byte aligned
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileAtomic(path, [len, json, ...chunks]);
}
