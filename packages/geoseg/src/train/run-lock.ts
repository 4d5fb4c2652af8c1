// A training run announces itself in <out>/running.json (process id and host) while it trains, so
// the viewer can tell a run that is alive but quiet (a long validation writes no log lines) from
// one that was killed: the file is removed when the run ends, and after a kill -9 its process id
// is no longer alive. The file is also the run folder's lock: it is created exclusively (a
// complete file linked into place, which fails if one exists), so two trainers never share a run
// folder; the lock of a process that died on this host is taken over.
import { existsSync, mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GeosegError } from '../errors.js';
import { acquireLock, releaseLock } from '../lock-file.js';

export { lockAlive, type RunLock } from '../lock-file.js';

export const RUN_LOCK_FILE = 'running.json';

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
  acquireLock(join(out, RUN_LOCK_FILE), { holder: 'geoseg train', doing: 'is training this run folder', what: 'this run folder', target: out });
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
  if (present.length === 0 || resume) return; // (a resume without a checkpoint is started over by train())
  if (!existsSync(join(out, 'config.json'))) {
    throw new GeosegError(`${out}: holds ${present.join(', ')} but no config.json, so it is not a geoseg run; geoseg never replaces it, even with --overwrite (choose another out)`);
  }
  if (!overwrite) throw new GeosegError(`${out}: already holds a run (pass --resume to continue it or --overwrite to start it over)`);
  for (const f of RUN_FILES) rmSync(join(out, f), { recursive: true, force: true });
}

/** Releases the run folder's lock; a folder this run created and left empty is removed. */
function closeRunFolder(out: string, created = false): void {
  releaseLock(join(out, RUN_LOCK_FILE));
  if (created) {
    try {
      rmdirSync(out); // only if empty
    } catch { /* the run wrote something: keep it */ }
  }
}

