// A lock file held by one geoseg process at a time: a complete JSON file (process id, host,
// start) linked into place, which fails if one exists. The lock of a process that died on this
// host is taken over; one from another host is respected (nothing can be said of it). Used by
// training (a run folder's running.json) and prediction (one predict per output).
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GeosegError } from './errors.js';

export interface RunLock {
  pid: number;
  host: string;
  startedAt: string;
}

/** Who holds a lock, for messages: e.g. { holder: 'geoseg train', doing: 'is training this run folder', what: 'this run folder', target: '<out>' }. */
export interface LockUse {
  holder: string;
  doing: string;
  what: string;
  target: string;
}

export function readLock(file: string): unknown {
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
    throw new GeosegError(`${file}: cannot create the lock (${(e as Error).message})`);
  }
}

/**
 * Takes the lock `file` (its folder must exist), or refuses with the process that holds it. A
 * lock whose process is dead on this host, or that is not a lock at all, is taken over.
 */
export function acquireLock(file: string, use: LockUse): void {
  const mine: RunLock = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(mine));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryLink(tmp, file)) return;
      const held = readLock(file);
      if (held === undefined) continue; // released meanwhile: try again
      const { pid, host, startedAt } = (held ?? {}) as Partial<RunLock>;
      const valid = Number.isInteger(pid) && typeof host === 'string';
      const alive = valid ? lockAlive(held) : false;
      if (alive) throw new GeosegError(`${use.target}: another ${use.holder} (pid ${pid}, started ${startedAt}) ${use.doing}; wait for it or stop it`);
      if (alive === null) throw new GeosegError(`${use.target}: a ${use.holder} on host ${host} (pid ${pid}) holds ${use.what}; if it is gone, delete ${file}`);
      takeOver(file, held, use);
    }
    throw new GeosegError(`${file}: cannot take the lock (other processes keep taking it)`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Removes the stale lock `held` from `file` without ever removing a live one: the file is moved
 * aside first (atomic) and removed only if it still is the stale lock; if another process took
 * it over in between, its lock is put back and this one refuses.
 */
function takeOver(file: string, held: unknown, use: LockUse): void {
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
    throw new GeosegError(`${use.target}: another ${use.holder} (pid ${(moved as Partial<RunLock> | null)?.pid}) has just started on ${use.what}`);
  }
  rmSync(aside, { force: true });
}

/** Releases the lock `file` if this process holds it. */
export function releaseLock(file: string): void {
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
