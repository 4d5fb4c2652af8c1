// Durable files: what a resume state or a rename says is there is on disk (fsync'd) first, so
// a crash, a kill -9 or a power cut at any moment leaves either the old or the new version,
// never a record of data that is not there.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GeosegError } from './errors.js';

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

/**
 * Replace `path` with `data`, never half-written: a temporary file beside it (a name of this
 * process's own, the old file's permissions), fsync'd, renamed over it, and the folder fsync'd.
 * The one way geoseg writes a file in place (configs, dataset.json, resume states, map.json).
 */
export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      if (existsSync(path)) fchmodSync(fd, statSync(path).mode & 0o777);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameDurable(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new GeosegError(`${path}: cannot write (${(e as Error).message})`);
  }
}

export function sha256File(path: string): string {
  // read in 1 MB pieces: TorchScript models hashed for predict's resume key can be hundreds of MB
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
