// Many scenes → one output per scene in a folder (`geoseg predict --input 'scenes/*.tif'
// --output-dir out/`), in one process or shared among data-parallel workers: the scenes are a
// queue whose head is a counter in the process group's TCPStore, so each worker takes the next
// scene when it is free and every scene is predicted once. Each scene is an ordinary streamed
// predict (its own work folder): a worker that dies leaves its scene's finished rows on disk, and
// `--resume` skips the finished scenes and continues the others.
//
// With several workers, a scene of at least 2 × `partRows` window rows is cut into parts of about
// `partRows` window rows, each an item of the queue: a worker predicts its part into the part's
// own folder (the window rows above it that reach into it again, for the blending: one at overlaps
// up to 0.5), and
// the worker that finishes a scene's last part makes its outputs from every part's rows — the
// same pixels as one worker predicting the scene whole. A resumed job keeps a scene's layout
// (whole or in parts) as its work folder has it.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { distributed } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { listInput, RASTER_EXTENSIONS } from '../data/pairing.js';
import { existsMessage } from '../outputs.js';
import { DEFAULT_OVERLAP, DEFAULT_WINDOW, loadPredictor, predict, refuseWhilePartsRun, sceneLock, type PredictOptions, type PredictSummary, type Predictor } from './predict.js';
import { acquireLock, releaseLock } from '../lock-file.js';
import { Raster } from '../raster/index.js';
import { windowGrid } from './window-grid.js';
import { WorkFolder } from './work-folder.js';

export interface PredictManyOptions extends Omit<PredictOptions, 'input' | 'output' | 'vector' | 'confidence' | 'probabilities' | 'map'> {
  /** A raster, a folder of rasters (searched recursively) or a glob ('scenes/**\/*.tif'). */
  input: string;
  outputDir: string;
  /** Polygons per scene beside its classes: 'gpkg' or 'geojson'. */
  vectors?: 'gpkg' | 'geojson' | null;
  /** More rasters per scene beside its classes: <stem>.confidence.tif, <stem>.probabilities.tif. */
  extras?: SceneExtra[];
  /** A map manifest per scene for geoseg serve: <stem>.map.json beside its classes. */
  maps?: boolean;
  /** Data-parallel workers sharing the scenes. */
  group?: distributed.ProcessGroup;
  /** With several workers, scenes of 2 × partRows window rows or more are shared in parts of about this many (default 16). */
  partRows?: number;
}

export type SceneExtra = 'confidence' | 'probabilities';
export const SCENE_EXTRAS: readonly SceneExtra[] = ['confidence', 'probabilities'];

export interface SceneJob {
  input: string;
  output: string;
  vector: string | null;
  confidence: string | null;
  probabilities: string | null;
  map: string | null;
  /** Parts of its window rows shared among workers (1: predicted whole). */
  parts: number;
}

export const DEFAULT_PART_ROWS = 16;

/** Every file a scene's predict writes. */
const outputsOf = (j: SceneJob) => [j.output, j.vector, j.confidence, j.probabilities, j.map].filter((p): p is string => p !== null);

export interface PredictManySummary {
  scenes: number;
  /**
   * Scenes this call predicted (all workers), and those finished before (--resume). A scene in
   * parts: the worker that made its outputs, and the seconds of every part and of that.
   */
  predicted: { input: string; output: string; worker: number; parts: number; seconds: number; megapixelsPerSecond: number }[];
  skipped: string[];
  stopped: boolean;
  seconds: number;
}

/** The scenes and their outputs: <outputDir>/<path relative to the input's base, .tif>. */
export function sceneJobs(input: string, outputDir: string, vectors: PredictManyOptions['vectors'], extras: readonly SceneExtra[] = [], maps = false): SceneJob[] {
  const { base, files } = listInput(input, RASTER_EXTENSIONS);
  if (files.length === 0) throw new GeosegError(`${input}: no rasters found`);
  const out = resolve(outputDir);
  const jobs = files.map((f) => {
    const rel = relative(base, f).split(sep).join('/');
    const stem = rel.slice(0, rel.length - extname(rel).length);
    const extra = (kind: SceneExtra) => (extras.includes(kind) ? join(out, `${stem}.${kind}.tif`) : null);
    return { input: f, output: join(out, `${stem}.tif`), vector: vectors ? join(out, `${stem}.${vectors}`) : null, confidence: extra('confidence'), probabilities: extra('probabilities'), map: maps ? join(out, `${stem}.map.json`) : null, parts: 1 };
  });
  // (a scene named x.confidence.tif beside x.tif would write where x's confidence goes)
  const seen = new Map<string, string>();
  for (const j of jobs) {
    for (const o of outputsOf(j)) {
      const other = seen.get(o);
      if (other) throw new GeosegError(`${j.input}: its output ${o} is also ${other}'s (rename one of them)`);
      seen.set(o, j.input);
    }
  }
  return jobs;
}

const workDirOf = (j: SceneJob) => join(dirname(j.output), `.${basename(j.output)}.geoseg-partial`);

/** A finished scene: its outputs exist and no work folder is left. */
const finished = (j: SceneJob) => outputsOf(j).every((p) => existsSync(p)) && !existsSync(workDirOf(j));

/** What rank 0 lists and every worker takes from: the scenes still to do, and those finished before. */
interface Plan { todo: SceneJob[]; skipped: string[]; scenes: number }

/**
 * How many parts a scene is predicted in: as its work folder has it when resuming; otherwise,
 * with several workers, one per `partRows` window rows once it has twice that many.
 */
async function partsOf(j: SceneJob, opts: PredictManyOptions, workers: number): Promise<{ parts: number; windowRows: number | null }> {
  const dir = workDirOf(j);
  const recorded = opts.resume ? WorkFolder.partCount(dir) : null;
  if (opts.resume && recorded === null && WorkFolder.hasWholeSceneState(dir)) return { parts: 1, windowRows: null };
  // the scene's size only when parts are possible (one process opens no raster here)
  if (recorded === null && workers < 2) return { parts: 1, windowRows: null };
  const raster = await Raster.open(j.input);
  const windowRows = windowGrid(raster.info.width, raster.info.height, opts.window ?? DEFAULT_WINDOW, opts.overlap ?? DEFAULT_OVERLAP).ys.length;
  raster.close();
  if (recorded !== null) {
    if (WorkFolder.partWindowRows(dir) !== windowRows) throw new GeosegError(`${j.output}: its parts were cut with other window options; run without --resume to start over`);
    return { parts: recorded, windowRows };
  }
  const partRows = opts.partRows ?? DEFAULT_PART_ROWS;
  return { parts: windowRows >= 2 * partRows ? Math.round(windowRows / partRows) : 1, windowRows };
}

async function plan(opts: PredictManyOptions, workers: number): Promise<Plan> {
  const jobs = sceneJobs(opts.input, opts.outputDir, opts.vectors ?? null, opts.extras ?? [], opts.maps ?? false);
  // Refused before any work: an existing output without --overwrite or --resume.
  const skipped = opts.resume && !opts.overwrite ? jobs.filter(finished).map((j) => j.input) : [];
  if (!opts.resume && !opts.overwrite) {
    const taken = jobs.flatMap(outputsOf).find((p) => existsSync(p));
    if (taken) throw new GeosegError(existsMessage(taken));
  }
  const todo = jobs.filter((j) => !skipped.includes(j.input));
  for (const j of todo) {
    mkdirSync(dirname(j.output), { recursive: true });
    const { parts, windowRows } = await partsOf(j, opts, workers);
    j.parts = parts;
    if (parts === 1 || windowRows === null) continue;
    // under the scene's lock, and never while a part of it is being predicted
    const lock = sceneLock(j.output);
    const use = { holder: 'geoseg predict', doing: 'is writing this output', what: 'this output', target: j.output };
    acquireLock(lock, use);
    try {
      refuseWhilePartsRun(j.output, use);
      WorkFolder.prepareParts(workDirOf(j), parts, windowRows, { resume: opts.resume ?? false });
    } finally {
      releaseLock(lock);
    }
  }
  return { todo, skipped, scenes: jobs.length };
}

const KEY = 'geoseg/predict';
const STOP_WAIT_MS = 120_000;
/**
 * How long rank 0 waits for a sign of life from a worker that has not finished (a counter each
 * worker bumps at least every window row) before it gives up on it: a worker killed outright on
 * another machine, with no launcher to notice, would otherwise keep rank 0 waiting for ever.
 */
const heartbeatSeconds = () => Number(process.env.GEOSEG_HEARTBEAT_SECONDS ?? 600);

/** A worker's sign of life: bumps its counter in the store, at most every 2 s. */
function heartbeat(store: distributed.Store, rank: number): () => void {
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last < 2000) return;
    last = now;
    store.add(`${KEY}/beat/${rank}`, 1);
  };
}

export async function predictMany(opts: PredictManyOptions): Promise<PredictManySummary> {
  const started = performance.now();
  const group = opts.group && opts.group.worldSize > 1 ? opts.group : null;
  const rank = group?.rank ?? 0;
  // One list for every worker: rank 0's, published in the store (listings taken at different
  // moments, or on different machines, could differ and shift the queue's indices).
  let work: Plan;
  if (!group) work = await plan(opts, 1);
  else if (rank === 0) {
    try {
      work = await plan(opts, group.worldSize);
    } catch (e) {
      group.store.set(`${KEY}/plan`, JSON.stringify({ error: (e as Error).message }));
      throw e;
    }
    group.store.set(`${KEY}/plan`, JSON.stringify(work));
  } else {
    const published = JSON.parse(group.store.getString(`${KEY}/plan`)) as Plan & { error?: string };
    if (published.error) throw new GeosegError(`rank 0 refused the job: ${published.error}`);
    work = published;
  }
  const { todo, skipped } = work;
  // the queue's items: every part of every scene (a scene predicted whole is its one part)
  const items = todo.flatMap((j, scene) => Array.from({ length: j.parts }, (_, part) => ({ scene, part })));
  const predicted: PredictManySummary['predicted'] = [];
  let stopped = false;
  // the queue, and each scene's finished parts and seconds: counters in the store (one process: local ones)
  const local = new Map<string, number>();
  const add = (key: string, n: number) => {
    if (group) return group.store.add(`${KEY}/${key}`, n);
    local.set(key, (local.get(key) ?? 0) + n);
    return local.get(key)!;
  };
  const next = () => add('next', 1) - 1;
  // the model once per worker, not once per scene (small scenes spent much of their time loading it)
  let predictor: Predictor | null = null;
  const beat = group ? heartbeat(group.store, rank) : () => undefined;
  // predict polls it every window row: the worker's heartbeat rides on it, and on a timer while
  // a scene's outputs are made (COGs, polygons: no window rows to poll from)
  const shouldStop = () => { beat(); return opts.shouldStop?.() ?? false; };
  const timer = group ? setInterval(beat, 5000) : null;
  try {
    for (let k = next(); k < items.length; k = next()) {
      if (shouldStop()) { stopped = true; break; }
      const { scene: i, part } = items[k]!;
      const j = todo[i]!;
      predictor ??= loadPredictor(opts, opts.weights ?? 'raw');
      const sceneOpts = { ...opts, shouldStop, predictor, input: j.input, output: j.output, vector: j.vector, confidence: j.confidence, probabilities: j.probabilities, map: j.map ?? false, resume: opts.resume };
      let s: PredictSummary = await predict(j.parts > 1 ? { ...sceneOpts, part: { index: part, count: j.parts } } : sceneOpts);
      if (s.stopped) { stopped = true; break; }
      let seconds = s.seconds;
      if (j.parts > 1) {
        // (milliseconds: the store's counters are integers; read once every part has added its own)
        add(`ms/${i}`, Math.round(s.seconds * 1000));
        if (add(`parts/${i}`, 1) < j.parts) continue;
        s = await predict({ ...sceneOpts, assembleParts: j.parts });
        seconds = add(`ms/${i}`, 0) / 1000 + s.seconds;
      }
      const row = { input: j.input, output: j.output, worker: rank, parts: j.parts, seconds, megapixelsPerSecond: (s.width * s.height) / 1e6 / seconds };
      predicted.push(row);
      if (group) group.store.set(`${KEY}/done/${i}`, JSON.stringify(row));
    }
  } catch (e) {
    // rank 0 must not wait for a worker that failed
    if (group) group.store.set(`${KEY}/failed/${rank}`, (e as Error).message);
    throw e;
  } finally {
    if (timer) clearInterval(timer);
    predictor?.model.dispose();
    if (group) {
      group.store.set(`${KEY}/finished/${rank}`, '1');
      group.store.add(`${KEY}/finished`, 1);
    }
  }
  if (group && rank === 0) {
    // Rank 0 reports every worker's scenes once all have finished: a counter in the store,
    // polled (a collective would time out behind a long last scene). It stops waiting when a
    // worker failed, and, after a stop request, once the others had a while to finish their row.
    let stopSince: number | null = stopped ? Date.now() : null;
    const ranks = Array.from({ length: group.worldSize }, (_, r) => r);
    // each worker's last heartbeat as rank 0 saw it change (rank 0's clock only: machines' clocks differ)
    const seen = ranks.map(() => ({ value: -1, at: Date.now() }));
    while (group.store.add(`${KEY}/finished`, 0) < group.worldSize) {
      const failed = ranks.find((r) => group.store.check([`${KEY}/failed/${r}`]));
      if (failed !== undefined) throw new GeosegError(`worker ${failed} failed: ${group.store.getString(`${KEY}/failed/${failed}`)}`);
      for (const r of ranks.slice(1)) {
        if (group.store.check([`${KEY}/finished/${r}`])) continue;
        const value = group.store.add(`${KEY}/beat/${r}`, 0);
        if (value !== seen[r].value) seen[r] = { value, at: Date.now() };
        else if (Date.now() - seen[r].at > heartbeatSeconds() * 1000) {
          throw new GeosegError(`worker ${r} has given no sign of life for ${heartbeatSeconds()} s (killed with no launcher to notice?); its scene keeps its finished rows: run again with --resume`);
        }
      }
      if (stopSince === null && opts.shouldStop?.()) stopSince = Date.now();
      if (stopSince !== null && Date.now() - stopSince > STOP_WAIT_MS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    predicted.length = 0;
    for (let i = 0; i < todo.length; i++) {
      const key = `${KEY}/done/${i}`;
      if (group.store.check([key])) predicted.push(JSON.parse(group.store.getString(key)));
    }
    stopped = stopped || stopSince !== null || predicted.length < todo.length;
  }
  return { scenes: work.scenes, predicted, skipped, stopped, seconds: (performance.now() - started) / 1000 };
}
