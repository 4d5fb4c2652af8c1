// Never destroy what geoseg did not make: every command that writes checks its outputs here
// first. An output that exists is replaced only when asked (--overwrite), and a folder is
// replaced only when it carries the marker file the command itself writes there (dataset.json
// of a prepared dataset, eval.json of evaluation maps, ...): a folder without it is never
// deleted, with or without --overwrite. Files and folders are written under a temporary name
// and renamed into place, so an output path never holds a half-written result.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GeosegError } from './errors.js';

export const existsMessage = (path: string) => `${path}: already exists (pass --overwrite to replace it)`;

/** Refuses an output file that is a folder, or that exists and `overwrite` was not given. */
export function checkOutputFile(path: string, overwrite: boolean): void {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) throw new GeosegError(`${path}: is a folder, not a file (geoseg never replaces a folder with a file; choose another output)`);
  if (!overwrite) throw new GeosegError(existsMessage(path));
}

/**
 * Checks an output folder that will be replaced as a whole. Refuses a file, a non-empty folder
 * without `marker` (not a `what` made by geoseg), and an existing output without `overwrite`.
 * Returns whether there is a previous output to replace (an empty folder is not one).
 */
export function checkOutputFolder(path: string, marker: string, what: string, overwrite: boolean): boolean {
  if (!existsSync(path)) return false;
  if (!statSync(path).isDirectory()) throw new GeosegError(`${path}: is a file, not a ${what} folder (geoseg never replaces it; choose another output)`);
  if (readdirSync(path).length === 0) return false;
  if (!existsSync(join(path, marker))) {
    throw new GeosegError(`${path}: is not a ${what} made by geoseg (no ${marker}); geoseg never deletes it, even with --overwrite (choose another output)`);
  }
  if (!overwrite) throw new GeosegError(existsMessage(path));
  return true;
}

/** The temporary sibling folder an output folder is built in (hidden, per process). */
export function tempSibling(out: string): string {
  return join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
}

/** Moves the finished folder `tmp` to `out`; a previous output there is removed only then. */
export function swapInFolder(tmp: string, out: string): void {
  const old = `${tmp}.old`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(tmp, out);
  rmSync(old, { recursive: true, force: true });
}

