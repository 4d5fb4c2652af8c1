// HTTP Range requests (RFC 9110 §14), single byte ranges only: `bytes=a-b`, `bytes=a-`,
// `bytes=-n`. COG readers ask for one range at a time. A multi-range request (`bytes=0-1,5-9`)
// is refused with 400 rather than answered with only its first range, so a client never takes
// a partial answer for a complete one.
import { HttpError } from './http-error.js';

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range asked for by a Range header over a file of `size` bytes, or null for the whole file
 * (no header). Throws HttpError 400 for a malformed header, 416 for an unsatisfiable range.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(.*?)\s*$/i.exec(header);
  if (!m) throw new HttpError(400, `malformed Range header (expected bytes=start-end)`);
  if (m[1].includes(',')) throw new HttpError(400, 'multiple ranges are not supported (ask for one range per request)');
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(m[1]);
  if (!r || (r[1] === '' && r[2] === '')) throw new HttpError(400, `malformed Range header (expected bytes=start-end)`);
  const [first, last] = [r[1], r[2]].map((s) => (s === '' ? null : Number(s)));
  if ((first !== null && !Number.isSafeInteger(first)) || (last !== null && !Number.isSafeInteger(last))) {
    throw new HttpError(400, 'malformed Range header (number too large)');
  }
  if (first === null) {
    // suffix: the last n bytes
    if (last === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - last!), end: size - 1 };
  }
  if (last !== null && last < first) throw new HttpError(400, 'malformed Range header (end before start)');
  if (first >= size) throw unsatisfiable(size);
  return { start: first, end: last === null ? size - 1 : Math.min(last, size - 1) };
}

function unsatisfiable(size: number): HttpError {
  return new HttpError(416, `range not satisfiable (the file has ${size} bytes)`, { 'Content-Range': `bytes */${size}` });
}
