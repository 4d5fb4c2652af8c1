// Runs and maps under the served roots, read from what training and evaluation write:
// a run is a folder with config.json + log.jsonl (checkpoints/{best,latest}/meta.json optional);
// a map is a folder with map.json (layers as paths relative to it). Every file read here is first
// resolved inside its root (symlinks included), like the files served under /files/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isMapManifest, type MapManifest } from '../map-manifest.js';
import { lockAlive, RUN_LOCK_FILE } from '../train/run-lock.js';
import { HttpError } from './http-error.js';
import { resolveInRoot, urlOf } from './paths.js';

/** 'unreadable': the run folder could not be read (e.g. log.jsonl is not a readable file). */
export type RunStatus = 'finished' | 'interrupted' | 'running' | 'stopped' | 'unreadable';
export type Rgb = [number, number, number];
export interface ClassInfo { id: number; name: string; color: Rgb }

export interface TrainEntry { step: number; loss: number; lr: number; itPerSecond?: number; elapsedSeconds?: number }
export interface EvalEntry { step: number; mIoU: number; pixelAccuracy?: number; iou: (number | null)[]; matrix: number[][]; seconds?: number }
export interface EndEntry { step: number; reason: string; elapsedSeconds?: number }

export interface MapEntry {
  title: string;
  /** URL of the map.json (a /files/ URL). */
  manifest: string;
  /** Run id when the map lies inside a run folder. */
  run: string | null;
}

export interface RunSummary {
  id: string;
  /** Folder relative to its root ('.' for the root itself). */
  path: string;
  root: number;
  status: RunStatus;
  config: Record<string, unknown> | null;
  step: number | null;
  elapsedSeconds: number | null;
  /** ISO time log.jsonl was last written ('' for an unreadable run). */
  updated: string;
  best: { metric: string; value: number; step: number } | null;
  lastEval: { step: number; mIoU: number; pixelAccuracy: number | null } | null;
}

export interface RunDetail extends RunSummary {
  train: TrainEntry[];
  evals: EvalEntry[];
  end: EndEntry | null;
  classes: ClassInfo[];
  ignoreIndex: number | null;
  checkpoints: { best: Record<string, unknown> | null; latest: Record<string, unknown> | null };
  maps: MapEntry[];
}

/** A log untouched for this long without an `end` line belongs to a killed run. */
const RUNNING_WINDOW_MS = 2 * 60_000;
/** Runs lie at most this deep under a root; maps (which may lie in a run) at most MAP_DEPTH. */
const RUN_DEPTH = 3;
const MAP_DEPTH = 8;
/** Stop walking a root after this many folders (a root may be a big folder by mistake). */
const MAX_FOLDERS = 20_000;
const SKIPPED = new Set(['node_modules', 'checkpoints']);

/** Fallback colours for runs without class metadata. */
const PALETTE: Rgb[] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];

export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'log.jsonl'));
}

/** Folders under `root` (itself included) up to `depth` levels down, not following symlinks; `stop` prunes. */
function walk(root: string, depth: number, visit: (dir: string, depth: number) => 'descend' | 'stop'): void {
  let budget = MAX_FOLDERS;
  const queue: [string, number][] = [[root, 0]];
  while (queue.length > 0 && budget-- > 0) {
    const [dir, d] = queue.shift()!;
    if (visit(dir, d) === 'stop' || d >= depth) continue;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // unreadable folder: not ours to report
    }
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIPPED.has(e.name)) queue.push([join(dir, e.name), d + 1]);
    }
  }
}

function relPath(root: string, dir: string): string {
  return relative(root, dir).split(sep).join('/') || '.';
}

/** How many folders down from its root a relative path ('.' or a/b/c) lies. */
function depthOf(rel: string): number {
  return rel === '.' ? 0 : rel.split('/').length;
}

/** The real path of `file` when it exists inside `root` (symlinks resolved), else null. */
function inRoot(root: string, file: string): string | null {
  try {
    return resolveInRoot(root, relative(root, file));
  } catch {
    return null;
  }
}

/** Run id: the folder relative to its root, prefixed by the root index when there are several roots. */
export function runId(roots: string[], rootIndex: number, dir: string): string {
  const rel = relPath(roots[rootIndex], dir);
  if (roots.length === 1) return rel;
  return rel === '.' ? String(rootIndex) : `${rootIndex}/${rel}`;
}

/** The folder of a run id (404 when it is not a run; 403 when it leaves the roots). */
export function runFolder(roots: string[], id: string): { rootIndex: number; dir: string } {
  let rootIndex = 0, rel = id;
  if (roots.length > 1) {
    const m = /^(\d+)(?:\/(.*))?$/s.exec(id);
    if (!m || Number(m[1]) >= roots.length) throw new HttpError(404, `unknown run: ${id}`);
    rootIndex = Number(m[1]);
    rel = m[2] ?? '.';
  }
  let dir: string;
  try {
    dir = resolveInRoot(roots[rootIndex], rel);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) throw new HttpError(404, `unknown run: ${id}`);
    throw e;
  }
  // deeper folders are not listed as runs, so they are not runs here either
  if (depthOf(relPath(roots[rootIndex], dir)) > RUN_DEPTH || !isRunFolder(dir)) throw new HttpError(404, `unknown run: ${id}`);
  return { rootIndex, dir };
}

/** Every run under the roots, newest first. */
export function listRuns(roots: string[]): RunSummary[] {
  const runs: RunSummary[] = [];
  roots.forEach((root, i) => walk(root, RUN_DEPTH, (dir) => {
    if (!isRunFolder(dir)) return 'descend';
    try {
      runs.push(readRun(roots, i, dir).summary);
    } catch {
      // one bad folder must not hide the other runs
      runs.push(unreadableRun(roots, i, dir));
    }
    return 'stop';
  }));
  return runs.sort((a, b) => b.updated.localeCompare(a.updated));
}

/** Every map under the roots, each tagged with the run that holds it (if any). */
export function listMaps(roots: string[]): MapEntry[] {
  const maps: MapEntry[] = [];
  roots.forEach((root, i) => findMaps(roots, i, root, null, MAP_DEPTH, maps));
  return maps;
}

function findMaps(roots: string[], rootIndex: number, from: string, runOf: string | null, depth: number, out: MapEntry[]): void {
  const root = roots[rootIndex];
  // Runs met on the way own the maps below them (only folders listed as runs: RUN_DEPTH at most).
  const owners: [string, string][] = [];
  walk(from, depth, (dir, d) => {
    if (runOf === null && d <= RUN_DEPTH && isRunFolder(dir)) owners.push([dir, runId(roots, rootIndex, dir)]);
    let names: string[];
    try {
      names = readdirSync(dir).filter(isMapManifest).sort();
    } catch {
      return 'descend';
    }
    for (const name of names) {
      const file = join(dir, name);
      const real = inRoot(root, file);
      if (!real) continue;
      const owner = runOf ?? owners.filter(([runDir]) => dir === runDir || dir.startsWith(runDir + sep)).pop()?.[1] ?? null;
      const title = (parseJsonObject(real) as Partial<MapManifest> | null)?.title;
      out.push({ title: typeof title === 'string' ? title : relPath(root, dir), manifest: urlOf(roots, rootIndex, file), run: owner });
    }
    return 'descend';
  });
}

/** A JSON object from a file inside `root`; null when missing, outside the root or not an object. */
function readJson(root: string, file: string): Record<string, any> | null {
  const real = inRoot(root, file);
  return real ? parseJsonObject(real) : null;
}

/** A JSON object from a file already resolved; null when unreadable or not an object. */
function parseJsonObject(real: string): Record<string, any> | null {
  try {
    const v = JSON.parse(readFileSync(real, 'utf8'));
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

/** The log's entries; lines cut short by a kill (or otherwise unparsable) are skipped. */
export function readLog(file: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v.type === 'string') out.push(v);
    } catch { /* a cut line */ }
  }
  return out;
}

/** `alive`: whether the run's running.json names a live process (null: no lock, or from another host). */
export function runStatus(log: Record<string, any>[], logModified: number, alive: boolean | null = null, now = Date.now()): RunStatus {
  // Only an end line that nothing follows counts: a resumed run logs on after its 'interrupted'.
  const last = log.at(-1);
  if (last?.type === 'end') return last.reason === 'interrupted' ? 'interrupted' : 'finished';
  if (alive !== null) return alive ? 'running' : 'stopped';
  return now - logModified < RUNNING_WINDOW_MS ? 'running' : 'stopped';
}

/** Throws when log.jsonl cannot be read (or leads out of the root). */
function readRun(roots: string[], rootIndex: number, dir: string) {
  const root = roots[rootIndex];
  const logFile = resolveInRoot(root, relative(root, join(dir, 'log.jsonl')));
  const log = readLog(logFile);
  const modified = statSync(logFile).mtimeMs;
  const metas = { best: readJson(root, join(dir, 'checkpoints', 'best', 'meta.json')), latest: readJson(root, join(dir, 'checkpoints', 'latest', 'meta.json')) };
  const train = log.filter((e) => e.type === 'train' && Number.isFinite(e.step)) as TrainEntry[];
  const evals = log.filter((e) => e.type === 'eval' && Number.isFinite(e.step) && Array.isArray(e.matrix)) as EvalEntry[];
  const end = (log.filter((e) => e.type === 'end').pop() ?? null) as EndEntry | null;
  const last = log.filter((e) => Number.isFinite(e.step)).pop();
  const lastEval = evals.at(-1);
  const summary: RunSummary = {
    id: runId(roots, rootIndex, dir),
    path: relPath(roots[rootIndex], dir),
    root: rootIndex,
    status: runStatus(log, modified, lockAlive(readJson(root, join(dir, RUN_LOCK_FILE)))),
    config: readJson(root, join(dir, 'config.json')),
    step: last?.step ?? null,
    elapsedSeconds: last?.elapsedSeconds ?? metas.latest?.elapsedSeconds ?? null,
    updated: new Date(modified).toISOString(),
    best: bestOf(metas.best, evals),
    lastEval: lastEval ? { step: lastEval.step, mIoU: lastEval.mIoU, pixelAccuracy: lastEval.pixelAccuracy ?? null } : null,
  };
  return { summary, log: { train, evals, end }, metas };
}

function unreadableRun(roots: string[], rootIndex: number, dir: string): RunSummary {
  return {
    id: runId(roots, rootIndex, dir), path: relPath(roots[rootIndex], dir), root: rootIndex, status: 'unreadable',
    config: null, step: null, elapsedSeconds: null, updated: '', best: null, lastEval: null,
  };
}

function bestOf(meta: Record<string, any> | null, evals: EvalEntry[]): RunSummary['best'] {
  const b = meta?.best;
  if (b && typeof b.value === 'number') return { metric: String(b.metric ?? 'mIoU'), value: b.value, step: b.step };
  if (evals.length === 0) return null;
  const top = evals.reduce((a, e) => (e.mIoU > a.mIoU ? e : a));
  return { metric: 'mIoU', value: top.mIoU, step: top.step };
}

/** Classes from checkpoint metadata, else `class i` with a fixed palette. */
function classesOf(metas: { best: Record<string, any> | null; latest: Record<string, any> | null }, count: number): ClassInfo[] {
  const named = metas.best?.classes ?? metas.latest?.classes;
  if (Array.isArray(named) && named.length > 0) return named as ClassInfo[];
  return Array.from({ length: count }, (_, i) => ({ id: i, name: `class ${i}`, color: PALETTE[i % PALETTE.length] }));
}

export function runDetail(roots: string[], id: string): RunDetail {
  const { rootIndex, dir } = runFolder(roots, id);
  let run: ReturnType<typeof readRun>;
  try {
    run = readRun(roots, rootIndex, dir);
  } catch (e) {
    throw new HttpError(422, `run ${id}: cannot read its log.jsonl (${(e as Error).message})`);
  }
  const { summary, log, metas } = run;
  const count = metas.best?.model?.classes ?? metas.latest?.model?.classes ?? log.evals.at(-1)?.matrix.length ?? 0;
  const maps: MapEntry[] = [];
  // as deep as listMaps looks from the root
  findMaps(roots, rootIndex, dir, summary.id, MAP_DEPTH - depthOf(summary.path), maps);
  return {
    ...summary, ...log,
    classes: classesOf(metas, count),
    ignoreIndex: metas.best?.ignoreIndex ?? metas.latest?.ignoreIndex ?? null,
    checkpoints: metas,
    maps,
  };
}
