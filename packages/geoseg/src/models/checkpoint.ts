// Checkpoints: a folder with model.safetensors, optimizer.safetensors and meta.json (config,
// classes, normalization, step, optimizer/scheduler state, best metric). Written to a temporary
// folder, fsync'd (files and folder), and swapped in by rename, so a crash, kill -9 or power cut
// at any moment leaves the previous checkpoint readable (as `<dir>` or, between the two renames,
// `<dir>.old`); the rename that makes the new one current comes only once it is on disk.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncPath } from '../durable.js';
import * as torch from '@geoseg/torch';
import { optim, type Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { createModel, type ModelConfig } from './create.js';
import type { SegmentationModel } from './model.js';

export interface CheckpointMeta {
  format: 'geoseg-checkpoint';
  version: 1;
  savedAt: string;
  step: number;
  /** Seconds of training so far, periodic validation included (the final validation excluded). */
  elapsedSeconds: number;
  model: ModelConfig;
  classes: { id: number; name: string; color: [number, number, number] }[];
  ignoreIndex: number;
  bands: number;
  dtype: string;
  /** Raw-value statistics: normalized = (raw - mean) / std; `scale` brings raw values to about [0, 1]. */
  normalization: { mean: number[]; std: number[]; scale: number[] };
  config: unknown;
  optimizer: optim.OptimizerStateDict | null;
  scheduler: unknown;
  /** A schedule fitted to train.minutes: its length and measurements (train/fitted-length.ts). */
  fit?: unknown;
  best: { metric: 'mIoU'; value: number; step: number } | null;
  lastEval: { step: number; mIoU: number } | null;
  /** Data-parallel workers that trained it (absent: one process); a resume needs as many. */
  workers?: number;
  /** fp16-mixed: the loss scaler's state (torch.amp.GradScaler.stateDict()), for an exact resume. */
  gradScaler?: unknown;
  /** Adversarial training: the discriminator's optimizer state (its tensors in discriminator-optimizer.safetensors). */
  discriminatorOptimizer?: optim.OptimizerStateDict;
}

const FILES = ['model.safetensors', 'meta.json'];
/** The exponential moving average of the weights (train.ema), beside the raw ones. */
const EMA_FILE = 'ema.safetensors';

/** Which weights of a checkpoint to load: the raw ones, or their moving average (train.ema). */
export type WeightsChoice = 'raw' | 'ema';

/** Whether checkpoint folder `dir` holds averaged weights. */
export function hasAveragedWeights(dir: string): boolean {
  return existsSync(join(dir, EMA_FILE));
}

/** Whether process `pid` exists (on this host). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temporary folders of `dir` left by processes that died while writing it (kill -9, crash). */
function removeDeadTemps(dir: string): void {
  const prefix = `.${basename(dir)}.`;
  for (const f of readdirSync(dirname(dir))) {
    const pid = f.startsWith(prefix) && f.endsWith('.tmp') ? Number(f.slice(prefix.length, -4)) : NaN;
    if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || !alive(pid))) rmSync(join(dirname(dir), f), { recursive: true, force: true });
  }
}

/**
 * Write a checkpoint folder: model.safetensors, optimizer.safetensors (with an optimizer),
 * ema.safetensors (with a weight average, train.ema) and meta.json.
 */
/**
 * Write a checkpoint folder atomically. `extraFiles`: more safetensors files in it (name →
 * tensors), e.g. an adversarial run's discriminator.
 */
export function saveCheckpoint(dir: string, model: SegmentationModel, optimizer: optim.OptimizerLike | null, meta: Omit<CheckpointMeta, 'format' | 'version' | 'savedAt' | 'optimizer'>, average: SegmentationModel | null = null, extraFiles: Record<string, Record<string, torch.Tensor>> = {}): void {
  mkdirSync(dirname(dir), { recursive: true });
  removeDeadTemps(dir);
  const tmp = join(dirname(dir), `.${basename(dir)}.${process.pid}.tmp`);
  mkdirSync(tmp);
  try {
    torch.saveSafetensors(join(tmp, 'model.safetensors'), model.stateDict());
    if (average) torch.saveSafetensors(join(tmp, EMA_FILE), average.stateDict());
    for (const [name, tensors] of Object.entries(extraFiles)) torch.saveSafetensors(join(tmp, name), tensors);
    let optimizerJson: optim.OptimizerStateDict | null = null;
    if (optimizer) {
      const { tensors, json } = optim.optimizerStateToTensors(optimizer.stateDict());
      torch.saveSafetensors(join(tmp, 'optimizer.safetensors'), tensors);
      optimizerJson = json;
    }
    const full: CheckpointMeta = { format: 'geoseg-checkpoint', version: 1, savedAt: new Date().toISOString(), ...meta, optimizer: optimizerJson };
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(full, null, 1));
    for (const f of readdirSync(tmp)) fsyncPath(join(tmp, f));
    fsyncPath(tmp);
    // At every moment a complete checkpoint exists as `dir` or `dir.old`.
    const old = `${dir}.old`;
    if (existsSync(dir)) {
      rmSync(old, { recursive: true, force: true });
      renameSync(dir, old);
    }
    renameSync(tmp, dir);
    fsyncPath(dirname(dir));
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new GeosegError(`${dir}: cannot write checkpoint (${(e as Error).message})`);
  }
}

/** The checkpoint folder to read for `path`: a checkpoint, or a run folder (its best, else latest). */
export function resolveCheckpoint(path: string): string {
  const candidates = [path, `${path}.old`, join(path, 'checkpoints', 'best'), join(path, 'checkpoints', 'latest'), join(path, 'checkpoints', 'latest.old')];
  for (const c of candidates) if (existsSync(join(c, 'meta.json'))) return c;
  if (!existsSync(path)) throw new GeosegError(`${path}: no such checkpoint or run folder`);
  if (!statSync(path).isDirectory()) throw new GeosegError(`${path}: not a checkpoint folder (expected a folder with model.safetensors and meta.json)`);
  throw new GeosegError(`${path}: not a checkpoint (no meta.json; expected model.safetensors and meta.json, or a run folder with checkpoints/)`);
}

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  model: SegmentationModel;
  /** Optimizer tensors (for resuming), when the checkpoint has them. */
  optimizerTensors: Record<string, Tensor> | null;
}

/** The checked meta.json of the checkpoint folder `dir` (see resolveCheckpoint). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  for (const f of FILES) if (!existsSync(join(dir, f))) throw new GeosegError(`${dir}: incomplete checkpoint (${f} is missing)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new GeosegError(`${join(dir, 'meta.json')}: not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== 'geoseg-checkpoint') throw new GeosegError(`${join(dir, 'meta.json')}: not a geoseg checkpoint (format is ${JSON.stringify(meta.format)})`);
  return meta;
}

export function loadCheckpoint(path: string, { withOptimizer = false, weights: choice = 'raw' as WeightsChoice } = {}): LoadedCheckpoint {
  const dir = resolveCheckpoint(path);
  const meta = readCheckpointMeta(dir);
  const model = createModel(meta.model);
  const file = join(dir, choice === 'ema' ? EMA_FILE : 'model.safetensors');
  if (choice === 'ema' && !existsSync(file)) throw new GeosegError(`${dir}: has no averaged weights (${EMA_FILE}; the run had no train.ema)`);
  let weights: Record<string, Tensor>;
  try {
    weights = torch.loadSafetensors(file);
  } catch (e) {
    throw new GeosegError(`${file}: cannot read (${(e as Error).message})`);
  }
  try {
    model.loadStateDict(weights);
  } catch (e) {
    throw new GeosegError(`${file}: does not fit the model in meta.json (${(e as Error).message.split('\n')[0]})`);
  } finally {
    torch.dispose(weights);
  }
  let optimizerTensors: Record<string, Tensor> | null = null;
  if (withOptimizer && existsSync(join(dir, 'optimizer.safetensors'))) optimizerTensors = torch.loadSafetensors(join(dir, 'optimizer.safetensors'));
  return { dir, meta, model, optimizerTensors };
}
