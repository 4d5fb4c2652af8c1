// Durable files: what a resume state or a rename says is there is on disk (fsync'd) first, so
// a crash, a kill -9 or a power cut at any moment leaves either the old or the new version,
// never a record of data that is not there.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsync a file or a folder (a folder's fsync makes the names created or renamed in it durable). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some platforms (Windows) cannot fsync a folder; there a rename is as durable as it gets.
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    closeSync(fd);
  }
}

/** Rename, then fsync the target folder (and the source folder when it differs). */
export function renameDurable(from: string, to: string): void {
  renameSync(from, to);
  fsyncPath(dirname(to));
  if (dirname(from) !== dirname(to)) fsyncPath(dirname(from));
}

/** Replace `path` with `data`: a temporary file, fsync'd, renamed over it. */
export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  fsyncPath(tmp);
  renameDurable(tmp, path);
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
