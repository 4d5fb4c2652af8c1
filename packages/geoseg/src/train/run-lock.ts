// A training run announces itself in <out>/running.json (process id and host) while it trains, so
// the viewer can tell a run that is alive but quiet (a long validation writes no log lines) from
// one that was killed: the file is removed when the run ends, and after a kill -9 its process id
// is no longer alive.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const RUN_LOCK_FILE = 'running.json';

export interface RunLock {
  pid: number;
  host: string;
  startedAt: string;
}

export function writeRunLock(out: string): void {
  const lock: RunLock = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const tmp = join(out, `.${RUN_LOCK_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(lock));
  renameSync(tmp, join(out, RUN_LOCK_FILE));
}

export function removeRunLock(out: string): void {
  rmSync(join(out, RUN_LOCK_FILE), { force: true });
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
