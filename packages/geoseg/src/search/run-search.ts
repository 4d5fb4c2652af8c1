// `geoseg search`: a recipe search within a budget (the practitioners' "poor man's NAS"):
// candidates sampled from a space (space.ts), trained as ordinary runs under <out>/trials/ (the
// viewer lists them), ranked by their final validation mIoU, and halved rung by rung
// (halving.ts). The winner of the last rung is written as <out>/best.yaml, a run config.
//
// Deterministic: a trial's length is in iterations, derived from its share of the budget by a
// cost model, not by the clock: iterations = (minutes · throughput − validation FLOPs) / step
// FLOPs, with the step at 3× the forward FLOPs of a batch (models/flops.ts) and validation the
// forward FLOPs per pixel over the validation scenes, windows overlapping. Runs being exact
// functions of their config and seed, the same space, seed and budget give the same trials,
// scores and best config on any machine; `throughput` (GFLOP/s) only says how long they take.
//
// Resumable: <out>/search.json (written durably after every trial) records the candidates and
// every finished trial; --resume skips those and continues an interrupted trial's run from its
// checkpoint. It is refused if the space file, the base config or the budget changed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { stringify } from 'yaml';
import * as torch from '@geoseg/torch';
import { readDataset, type DatasetJson } from '../data/dataset.js';
import { writeFileDurable } from '../durable.js';
import { GeosegError } from '../errors.js';
import { evalUnits, unitRegion } from '../evaluation/evaluate.js';
import { createModel, modelFlops } from '../models/index.js';
import { parseTrainConfig, type TrainConfig } from '../train/config.js';
import { modelConfigOf, train } from '../train/trainer.js';
import { promote, rungSizes, trialMinutes } from './halving.js';
import { describeParams, sampleCandidates, withParam, type Params, type SearchSpace } from './space.js';

export interface SearchOptions {
  budgetMinutes: number;
  resume?: boolean;
  overwrite?: boolean;
  /** Checked after every training iteration: true stops the current trial (checkpointed). */
  shouldStop?: () => boolean;
  /** One line per trial started and finished. */
  log?: (line: string) => void;
}

export interface TrialRecord {
  rung: number;
  candidate: number;
  /** The trial's run folder, relative to the search folder. */
  run: string;
  iterations: number;
  /** The trial's share of the budget. */
  minutes: number;
  /** Final validation mIoU; null while unfinished, NaN (as null + error) when the run failed. */
  mIoU: number | null;
  seconds: number | null;
  error?: string;
}

export interface SearchState {
  version: 1;
  space: string;
  /** SHA-256 of the space file and the base config: a resume needs both unchanged. */
  key: string;
  budgetMinutes: number;
  rungs: number[];
  candidates: Params[];
  trials: TrialRecord[];
  best: { candidate: number; params: Params; mIoU: number; config: string } | null;
}

export interface SearchResult {
  state: SearchState;
  interrupted: boolean;
  out: string;
}

const STATE = 'search.json';
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The trial's run config document: the base with the candidate's settings. */
function trialDoc(space: SearchSpace, params: Params): Record<string, unknown> {
  return Object.entries(params).reduce((doc, [k, v]) => withParam(doc, k, v), structuredClone(space.baseDoc));
}

function parseTrial(space: SearchSpace, doc: Record<string, unknown>): TrainConfig {
  return parseTrainConfig(doc, space.base, dirname(space.base));
}

/** FLOPs of one training step and of one validation of a config. */
function costOf(cfg: TrainConfig, ds: DatasetJson, valPixels: number): { step: number; validation: number } {
  const model = torch.nn.init.withoutRandomInit(() => createModel(modelConfigOf(cfg, ds)));
  try {
    const crop = cfg.data.crop;
    const forward = modelFlops(model, [1, ds.bands, crop, crop]).forward;
    const overlap = (cfg.eval as { overlap?: number }).overlap ?? 0.25;
    return { step: 3 * forward * cfg.data.batch, validation: (forward / (crop * crop)) * valPixels / (1 - overlap) ** 2 };
  } finally {
    model.dispose();
  }
}

/** What a search writes in its folder (its own to replace with --overwrite; anything else is kept, e.g. best/). */
const SEARCH_FILES = [STATE, 'trials', 'best.yaml'];

/** The state to continue (--resume), or null for a new search; refusals name the folder. */
function openSearchFolder(space: SearchSpace, opts: SearchOptions, key: string): SearchState | null {
  const file = join(space.out, STATE);
  if (existsSync(file)) {
    if (opts.overwrite) return null; // replaced once the new candidates are drawn
    if (!opts.resume) throw new GeosegError(`${space.out}: already holds a search (--resume continues it, --overwrite starts over)`);
    let state: SearchState;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as SearchState;
    } catch (e) {
      throw new GeosegError(`${file}: not valid JSON (${(e as Error).message}); --overwrite starts the search over`);
    }
    if (state.key !== key) throw new GeosegError(`${file}: the space file, its base config or the dataset changed since the search began (--overwrite starts over)`);
    if (state.budgetMinutes !== opts.budgetMinutes) throw new GeosegError(`${file}: the search began with --budget ${state.budgetMinutes}m, not ${opts.budgetMinutes}m`);
    return state;
  }
  if (opts.resume) throw new GeosegError(`${space.out}: no search to resume (no ${STATE})`);
  if (existsSync(space.out) && readdirSync(space.out).length > 0) throw new GeosegError(`${space.out}: exists and is not a search folder (no ${STATE}); choose another out`);
  return null;
}

export async function runSearch(space: SearchSpace, opts: SearchOptions): Promise<SearchResult> {
  const log = opts.log ?? (() => undefined);
  const base = parseTrial(space, trialDoc(space, {}));
  const ds = readDataset(base.data.dataset);
  // a resume needs the same space, base config and dataset (a new split or augment changes trials)
  const key = createHash('sha256').update(sha(space.file)).update(sha(space.base)).update(sha(join(base.data.dataset, 'dataset.json'))).digest('hex');
  const val = ((ds.split as { val?: number[] } | null)?.val ?? []);
  if (val.length === 0) throw new GeosegError(`${base.data.dataset}: no validation split; trials are ranked by their validation mIoU (run geoseg split)`);
  const valPixels = evalUnits(ds, val).reduce((n, u) => { const r = unitRegion(ds, u); return n + r.width * r.height; }, 0);

  const sizes = rungSizes(space.trials, space.eta);
  const minutes = trialMinutes(opts.budgetMinutes, sizes);
  let state = openSearchFolder(space, opts, key);
  if (!state) {
    const candidates = sampleCandidates(space, space.trials, (p) => {
      try {
        parseTrial(space, trialDoc(space, p));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    });
    state = { version: 1, space: space.file, key, budgetMinutes: opts.budgetMinutes, rungs: sizes, candidates, trials: [], best: null };
    // an earlier search's files go only now, with the new candidates drawn (its best/ run stays)
    if (opts.overwrite) for (const f of SEARCH_FILES) rmSync(join(space.out, f), { recursive: true, force: true });
  }
  // Every candidate's cost before any training: a first-rung trial shorter than its validation
  // is refused now (later rungs give each trial more); a model that cannot take the crops is that
  // candidate's failure, recorded when its turn comes.
  const costs = state.candidates.map((p) => {
    try {
      return costOf(parseTrial(space, trialDoc(space, p)), ds, valPixels);
    } catch (e) {
      if (!(e instanceof GeosegError)) throw e;
      return { error: (e as Error).message.split('\n')[0] };
    }
  });
  costs.forEach((c, i) => {
    if ('error' in c) return;
    const need = c.validation / (space.throughput * 1e9) / 60;
    if (need + c.step / (space.throughput * 1e9) / 60 > minutes[0]) {
      throw new GeosegError(`${space.file}: a first-rung trial gets ${minutes[0].toFixed(2)} min, less than candidate ${i}'s validation and one step take (≈${need.toFixed(2)} min at ${space.throughput} GFLOP/s); raise --budget or lower trials`);
    }
  });
  mkdirSync(join(space.out, 'trials'), { recursive: true });
  const save = (s: SearchState) => writeFileDurable(join(space.out, STATE), JSON.stringify(s, null, 1) + '\n');
  save(state);

  let members = state.candidates.map((_, i) => i);
  for (const [rung, size] of sizes.entries()) {
    if (rung > 0) {
      // only trials with a score move up (a rung after failures may hold fewer than its size)
      const previous = state.trials.filter((t) => t.rung === rung - 1 && t.mIoU !== null).map((t) => ({ candidate: t.candidate, score: t.mIoU! }));
      if (previous.length === 0) throw new GeosegError(`${space.out}: every trial of rung ${rung - 1} failed (see ${STATE})`);
      members = promote(previous, size);
    }
    for (const candidate of members) {
      const done = state.trials.find((t) => t.rung === rung && t.candidate === candidate);
      if (done && (done.mIoU !== null || done.error)) continue;
      const params = state.candidates[candidate];
      const run = join('trials', `r${rung}-c${String(candidate).padStart(2, '0')}`);
      const doc = trialDoc(space, params);
      const cost = costs[candidate];
      const iterations = 'error' in cost ? 0 : Math.floor((minutes[rung] * 60 * space.throughput * 1e9 - cost.validation) / cost.step);
      const record: TrialRecord = done ?? { rung, candidate, run, iterations, minutes: minutes[rung], mIoU: null, seconds: null };
      if (!done) state.trials.push(record);
      if ('error' in cost) {
        record.error = cost.error;
        save(state);
        log(`rung ${rung}, candidate ${candidate}: cannot train (${cost.error})`);
        continue;
      }
      const train_ = { ...(doc.train as Record<string, unknown> | undefined), iterations, evalEvery: 0 };
      delete (train_ as { minutes?: number }).minutes;
      const cfg = parseTrial(space, { ...doc, out: join(space.out, run), train: train_ });
      save(state);
      log(`rung ${rung}, candidate ${candidate} (${iterations} iterations ≈ ${minutes[rung].toFixed(2)} min): ${describeParams(params)}`);
      const started = performance.now();
      const resume = existsSync(join(cfg.out, 'checkpoints', 'latest', 'meta.json'));
      try {
        const s = await train(cfg, { resume, overwrite: !resume, progress: false, where: `${space.file}: candidate ${candidate}`, shouldStop: opts.shouldStop });
        if (s.stoppedEarly) return { state, interrupted: true, out: space.out };
        const score = s.lastEval?.metrics.mIoU ?? NaN;
        if (Number.isFinite(score)) record.mIoU = score;
        else record.error = 'no validation score';
      } catch (e) {
        if (!(e instanceof GeosegError)) throw e; // a bug, not a candidate that cannot train
        record.error = (e as Error).message.split('\n')[0];
      }
      record.seconds = (performance.now() - started) / 1000;
      save(state);
      log(`  ${record.mIoU === null ? `failed: ${record.error}` : `mIoU ${(100 * record.mIoU).toFixed(2)}`} in ${record.seconds.toFixed(0)} s`);
    }
  }
  const last = state.trials.filter((t) => t.rung === sizes.length - 1 && t.mIoU !== null);
  if (last.length === 0) throw new GeosegError(`${space.out}: every trial of the last rung failed (see ${STATE})`);
  const winner = last[0];
  const params = state.candidates[winner.candidate];
  const best = parseTrial(space, trialDoc(space, params));
  const doc: Record<string, unknown> = { ...trialDoc(space, params), out: join(space.out, 'best') };
  doc.data = { ...(doc.data as Record<string, unknown>), dataset: best.data.dataset };
  // paths made absolute: best.yaml lives in the search folder, not beside the base config
  if (best.model.encoderWeights) doc.model = { ...(doc.model as Record<string, unknown>), encoderWeights: best.model.encoderWeights };
  if (best.model.init) doc.model = { ...(doc.model as Record<string, unknown>), init: best.model.init };
  const config = join(space.out, 'best.yaml');
  const header = `# The best of ${state.candidates.length} candidates of ${relative(space.out, space.file)} in a ${opts.budgetMinutes}-minute search (${describeParams(params)}; mIoU ${(100 * winner.mIoU!).toFixed(2)} in its trial)\n`;
  writeFileDurable(config, header + stringify(doc));
  state.best = { candidate: winner.candidate, params, mIoU: winner.mIoU!, config };
  save(state);
  return { state, interrupted: false, out: space.out };
}
