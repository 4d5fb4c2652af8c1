// Gradient buckets as DDP forms them: tensors grouped by dtype and device, in the given order, each
// bucket closed once it holds at least its byte cap (the first cap for the first bucket of each
// kind, so the first all-reduce of a backward can start early).
import type { Tensor } from '../tensor.js';

const BYTES: Record<string, number> = { float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, int16: 2, uint8: 1, int8: 1, bool: 1 };

/** DDP's bucket_cap_mb (25 MB) and its first bucket's cap (1 MB). */
export const BUCKET_BYTES = 25 * 1024 * 1024;
export const FIRST_BUCKET_BYTES = 1024 * 1024;

/** The indices of `tensors`, bucket by bucket, in the order the buckets close (then the open ones). */
export function bucketsBySize(tensors: Tensor[], capBytes = BUCKET_BYTES, firstCapBytes = capBytes): number[][] {
  const open = new Map<string, { indices: number[]; bytes: number }>();
  const closedKinds = new Set<string>();
  const done: number[][] = [];
  tensors.forEach((t, i) => {
    const kind = `${t.dtype}/${t.device}`;
    const bucket = open.get(kind) ?? { indices: [], bytes: 0 };
    bucket.indices.push(i);
    const bytes = BYTES[t.dtype];
    if (bytes === undefined) throw new TypeError(`bucketsBySize: tensor ${i}: no bucket size for dtype ${t.dtype}`);
    bucket.bytes += t.numel() * bytes;
    if (bucket.bytes >= (closedKinds.has(kind) ? capBytes : firstCapBytes)) {
      done.push(bucket.indices);
      open.delete(kind);
      closedKinds.add(kind);
    } else {
      open.set(kind, bucket);
    }
  });
  for (const b of open.values()) done.push(b.indices);
  return done;
}
