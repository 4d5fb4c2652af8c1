// GDAL reports the problems it works around as warnings (a JPEG cut short is decoded with its
// missing part filled grey: "Premature end of JPEG file"), and gdal-async drops them, so a
// corrupt input would be used silently. Here every GDAL warning and error goes to a log file
// of this process (GDAL's CPL_LOG, written by its default handler from any thread), and an
// operation on an input that made GDAL write to it fails with that message.
import gdal from 'gdal-async';
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RasterError } from '../errors.js';

// libjpeg's warnings (truncated or corrupt data) become read errors too, independently of the log.
if (!gdal.config.get('GDAL_ERROR_ON_LIBJPEG_WARNING')) gdal.config.set('GDAL_ERROR_ON_LIBJPEG_WARNING', 'TRUE');

function startLog(): string {
  const own = !gdal.config.get('CPL_LOG');
  if (own) {
    const file = join(tmpdir(), `geoseg-gdal-${process.pid}.log`);
    gdal.config.set('CPL_LOG', file);
    process.on('exit', () => rmSync(file, { force: true }));
  }
  // GDAL stops reporting after CPL_MAX_ERROR_REPORTS messages (1000 by default).
  if (!gdal.config.get('CPL_MAX_ERROR_REPORTS')) gdal.config.set('CPL_MAX_ERROR_REPORTS', '1000000000');
  gdal.verbose(); // GDAL's default handler, which writes to CPL_LOG
  return gdal.config.get('CPL_LOG') as string;
}

const LOG = startLog();

const logSize = () => {
  try {
    return statSync(LOG).size;
  } catch {
    return 0; // GDAL creates the file with its first message
  }
};

/** The warnings and errors GDAL logged from byte `from` on (empty when none). */
function messagesSince(from: number): string[] {
  const size = logSize();
  const start = size < from ? 0 : from; // GDAL truncates the file when it opens it
  if (size <= start) return [];
  const buf = Buffer.alloc(size - start);
  const fd = openSync(LOG, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8').split('\n').filter((l) => /^(Warning|ERROR) \d+:/.test(l));
}

/** A mark in GDAL's messages: pass it to `failOnGdalMessages` after the operation. */
export const gdalMark = logSize;

/**
 * Throws a RasterError naming the input `path` and GDAL's first message if GDAL warned or failed
 * since `mark` (`what` says what was being done). Operations that overlap in time share the
 * blame: a false failure, never a silent one.
 */
export function failOnGdalMessages(mark: number, path: string, what: string): void {
  const [first] = messagesSince(mark);
  if (first) throw new RasterError(`${path}: ${what}: GDAL ${first.replace(/^Warning \d+: /, 'warned: ').replace(/^ERROR \d+: /, 'failed: ')}`);
}
