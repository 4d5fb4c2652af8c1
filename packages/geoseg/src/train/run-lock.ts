// A training run announces itself in <out>/running.json (process id and host) while it trains, so
// the viewer can tell a run that is alive but quiet (a long validation writes no log lines) from
// one that was killed: the file is removed when the run ends, and after a kill -9 its process id
// is no longer alive. The file is also the run folder's lock: it is created exclusively (a
// complete file linked into place, which fails if one exists), so two trainers never share a run
// folder; the lock of a process that died on this host is taken over.
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GeosegError } from '../errors.js';

export const RUN_LOCK_FILE = 'running.json';

export interface RunLock {
  pid: number;
  host: string;
  startedAt: string;
}

function readLock(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null; // gone, or not a lock
  }
}

const sameLock = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Links `tmp` into place as `file` unless a file is there; true when it is ours. */
function tryLink(tmp: string, file: string): boolean {
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new GeosegError(`${file}: cannot create the run lock (${(e as Error).message})`);
  }
}

/**
 * Takes the lock of run folder `out` (which must exist), or refuses with the process that holds
 * it. A lock whose process is dead on this host, or that is not a lock at all, is taken over.
 */
function acquireRunLock(out: string): void {
  const file = join(out, RUN_LOCK_FILE);
  const mine: RunLock = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const tmp = join(out, `.${RUN_LOCK_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(mine));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryLink(tmp, file)) return;
      const held = readLock(file);
      if (held === undefined) continue; // released meanwhile: try again
      const { pid, host, startedAt } = (held ?? {}) as Partial<RunLock>;
      const valid = Number.isInteger(pid) && typeof host === 'string';
      const alive = valid ? lockAlive(held) : false;
      if (alive) throw new GeosegError(`${out}: another geoseg train (pid ${pid}, started ${startedAt}) is training this run folder; wait for it or stop it`);
      if (alive === null) throw new GeosegError(`${out}: a geoseg train on host ${host} (pid ${pid}) holds this run folder; if it is gone, delete ${file}`);
      takeOver(file, held);
    }
    throw new GeosegError(`${file}: cannot take the run lock (other trainers keep starting on this run folder)`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Removes the stale lock `held` from `file` without ever removing a live one: the file is moved
 * aside first (atomic) and removed only if it still is the stale lock; if another trainer took
 * it over in between, its lock is put back and this one refuses.
 */
function takeOver(file: string, held: unknown): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw e;
  }
  const moved = readLock(aside);
  if (!sameLock(moved, held)) {
    tryLink(aside, file);
    rmSync(aside, { force: true });
    throw new GeosegError(`${file}: another geoseg train (pid ${(moved as Partial<RunLock> | null)?.pid}) has just started on this run folder`);
  }
  rmSync(aside, { force: true });
}

// What a run folder holds besides its lock; config.json is the marker of a geoseg run.
const RUN_FILES = ['config.json', 'log.jsonl', 'checkpoints'];

/**
 * Makes `out` ready for a run and takes its lock; returns the function that releases it. Refuses
 * a file, a folder holding a run unless `resume` (continue it) or `overwrite` (the previous run's
 * files are removed), and a folder holding run files without config.json (not geoseg's: never
 * removed).
 */
export function openRunFolder(out: string, { resume = false, overwrite = false } = {}): () => void {
  if (resume && overwrite) throw new GeosegError(`${out}: --resume continues the run and --overwrite starts it over; give one of them`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new GeosegError(`${out}: is a file, not a run folder (choose another out)`);
  const created = !existsSync(out);
  mkdirSync(out, { recursive: true });
  acquireRunLock(out);
  const close = () => closeRunFolder(out, created);
  try {
    clearRunFolder(out, resume, overwrite);
  } catch (e) {
    close();
    throw e;
  }
  return close;
}

function clearRunFolder(out: string, resume: boolean, overwrite: boolean): void {
  const present = RUN_FILES.filter((f) => existsSync(join(out, f)));
  if (present.length === 0 || resume) return; // a resume without a checkpoint fails when loading it
  if (!existsSync(join(out, 'config.json'))) {
    throw new GeosegError(`${out}: holds ${present.join(', ')} but no config.json, so it is not a geoseg run; geoseg never replaces it, even with --overwrite (choose another out)`);
  }
  if (!overwrite) throw new GeosegError(`${out}: already holds a run (pass --resume to continue it or --overwrite to start it over)`);
  for (const f of RUN_FILES) rmSync(join(out, f), { recursive: true, force: true });
}

/** Releases the run folder's lock; a folder this run created and left empty is removed. */
function closeRunFolder(out: string, created = false): void {
  releaseRunLock(out);
  if (created) {
    try {
      rmdirSync(out); // only if empty
    } catch { /* the run wrote something: keep it */ }
  }
}

/** Releases the lock of `out` if this process holds it. */
function releaseRunLock(out: string): void {
  const file = join(out, RUN_LOCK_FILE);
  const held = readLock(file) as Partial<RunLock> | null | undefined;
  if (held?.pid === process.pid && held.host === hostname()) rmSync(file, { force: true });
}

/**
 * Whether the lock's process still runs: true or false on this host, null when the lock is from
 * another machine (or malformed) and nothing can be said.
 */
export function lockAlive(lock: unknown): boolean | null {
  const l = lock as Partial<RunLock> | null;
  if (!l || !Number.isInteger(l.pid) || (l.pid as number) <= 0 || l.host !== hostname()) return null;
  try {
    process.kill(l.pid as number, 0); // signal 0: only checks that the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
