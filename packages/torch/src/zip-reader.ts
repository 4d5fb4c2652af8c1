// A minimal reader for the zip archives PyTorch writes (torch.save, torch.jit.save): stored
// (uncompressed) entries, found through the central directory. ZIP64 records are understood,
// since PyTorch's writer adds them even to small files. Compression and encryption are not.
import { crc32 } from 'node:zlib';

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

interface Entry {
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export class ZipReader {
  readonly #buf: Buffer;
  readonly #entries = new Map<string, Entry>();

  /** Index the archive in buf; throws if it is not a zip archive or its directory is cut short. */
  constructor(buf: Buffer) {
    this.#buf = buf;
    const eocd = findEndOfCentralDirectory(buf);
    let count = buf.readUInt16LE(eocd + 10);
    let cdSize = buf.readUInt32LE(eocd + 12);
    let cdOffset = buf.readUInt32LE(eocd + 16);
    // ZIP64: the real values are in the ZIP64 end record, found through the locator just before.
    const loc = eocd - 20;
    if (loc >= 0 && buf.readUInt32LE(loc) === ZIP64_LOCATOR_SIG) {
      const rec = u64(buf, loc + 8);
      if (rec + 56 > buf.length || buf.readUInt32LE(rec) !== ZIP64_EOCD_SIG) throw new Error('corrupt zip archive (bad ZIP64 end of central directory record)');
      count = u64(buf, rec + 32);
      cdSize = u64(buf, rec + 40);
      cdOffset = u64(buf, rec + 48);
    }
    if (cdOffset + cdSize > buf.length) throw new Error(`truncated zip archive (central directory at ${cdOffset}, ${cdSize} bytes, past the end of the ${buf.length}-byte file)`);

    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdOffset + cdSize || buf.readUInt32LE(p) !== CENTRAL_SIG) throw new Error(`corrupt zip archive (bad central directory entry ${i} at offset ${p})`);
      const nameLen = buf.readUInt16LE(p + 28);
      const extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32);
      if (p + 46 + nameLen + extraLen + commentLen > cdOffset + cdSize) throw new Error(`corrupt zip archive (central directory entry ${i} runs past the directory)`);
      const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
      const entry: Entry = {
        flags: buf.readUInt16LE(p + 8),
        method: buf.readUInt16LE(p + 10),
        crc: buf.readUInt32LE(p + 16),
        compressedSize: buf.readUInt32LE(p + 20),
        size: buf.readUInt32LE(p + 24),
        localOffset: buf.readUInt32LE(p + 42),
      };
      readZip64Extra(buf, p + 46 + nameLen, extraLen, entry);
      this.#entries.set(name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Entry names, in the order of the central directory. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The bytes of an entry (a view into the archive's buffer, not a copy). */
  read(name: string): Buffer {
    const e = this.#entries.get(name);
    if (!e) throw new Error(`zip archive has no entry '${name}'`);
    if (e.flags & 1) throw new Error(`zip entry '${name}' is encrypted`);
    if (e.method !== 0) throw new Error(`zip entry '${name}' is compressed (method ${e.method}); only stored entries, as torch.save writes them, are supported`);
    const buf = this.#buf;
    const p = e.localOffset;
    if (p + 30 > buf.length || buf.readUInt32LE(p) !== LOCAL_SIG) throw new Error(`corrupt zip archive (bad local header for '${name}' at offset ${p})`);
    // The local header's own name and extra lengths (its extra field, used by PyTorch to align
    // the data, differs from the central directory's). Sizes come from the central directory:
    // PyTorch writes zeros in local headers and puts the sizes in data descriptors.
    const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
    if (start + e.size > buf.length) throw new Error(`truncated zip archive ('${name}' ends past the end of the file)`);
    const data = buf.subarray(start, start + e.size);
    if (crc32(data) !== e.crc) throw new Error(`corrupt zip archive (CRC mismatch in '${name}')`);
    return data;
  }
}

/** Offset of the end of central directory record: the last 22 bytes, or earlier if there is a comment. */
function findEndOfCentralDirectory(buf: Buffer): number {
  const last = buf.length - 22;
  for (let p = last; p >= 0 && p >= last - 0xffff; p--) {
    if (buf.readUInt32LE(p) === EOCD_SIG && p + 22 + buf.readUInt16LE(p + 20) <= buf.length) return p;
  }
  throw new Error(buf.length === 0 ? 'not a zip archive (empty file)' : 'not a zip archive, or a truncated one (no end of central directory record)');
}

/** Fill in the sizes and offset that a central directory entry left as 0xFFFFFFFF from its ZIP64 extra field. */
function readZip64Extra(buf: Buffer, start: number, length: number, e: Entry): void {
  const end = start + length;
  for (let p = start; p + 4 <= end; p += 4 + buf.readUInt16LE(p + 2)) {
    if (buf.readUInt16LE(p) !== 0x0001) continue;
    let q = p + 4;
    // Only the fields that overflowed are present, in this order.
    if (e.size === 0xffffffff) { e.size = u64(buf, q); q += 8; }
    if (e.compressedSize === 0xffffffff) { e.compressedSize = u64(buf, q); q += 8; }
    if (e.localOffset === 0xffffffff) { e.localOffset = u64(buf, q); q += 8; }
    return;
  }
}

function u64(buf: Buffer, p: number): number {
  if (p + 8 > buf.length) throw new Error('truncated zip archive');
  const v = buf.readBigUInt64LE(p);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('corrupt zip archive (64-bit size or offset out of range)');
  return Number(v);
}
