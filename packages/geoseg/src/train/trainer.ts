// The training loop: config → model, loader, loss, optimizer, schedule; per-iteration progress,
// a JSONL log, periodic validation on whole scenes, `latest` and `best` checkpoints, exact resume.
//
// Length: train.iterations, or with train.minutes alone a length fitted to the time budget
// (fitted-length.ts), re-estimated a few times, recorded in the log and every checkpoint.
//
// Determinism: the weights are initialised after torch.manualSeed(seed); iteration k reseeds
// libtorch with mix32(seed, k) and draws its batch from (seed, k) alone. A run resumed from a
// checkpoint at step k therefore continues exactly as the uninterrupted run would.
//
// Data-parallel (opts.group, data-parallel.ts): rank 0 holds the run folder and writes the log,
// checkpoints and validation; every rank draws its slice of the global batch, gradients are
// averaged before each step, and the ranks agree each iteration on the loss and on stopping.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as torch from '@geoseg/torch';
import { nn, optim, type distributed, type Tensor } from '@geoseg/torch';
import { readDataset, type DatasetJson } from '../data/dataset.js';
import { defaultScale, mix32, TileLoader } from '../data/loader.js';
import { GeosegError } from '../errors.js';
import { writeFileDurable } from '../durable.js';
import { channelsLast, createModel, loadEncoderWeights, useChannelsLast, useContiguousFormat, type ModelConfig, type ModelOutputs, type SegmentationModel } from '../models/index.js';
import { Progress } from '../progress.js';
import { useThreads } from '../threads.js';
import { buildOptimizer, buildScheduler, classWeights, refitScheduler } from './build.js';
import { afterIteration, isFittedLengthState, recordValidation, startFit, type FittedLengthState, type LengthEstimate } from './fitted-length.js';
import { loadCheckpoint, readCheckpointMeta, resolveCheckpoint, saveCheckpoint, type CheckpointMeta } from '../models/checkpoint.js';
import type { TrainConfig } from './config.js';
import { evalUnits, evaluate, type EvalResult } from '../evaluation/index.js';
import { backgroundClass } from '../evaluation/presets.js';
import { foregroundMIoU } from '../metrics/index.js';
import { runObjective } from './objective.js';
import { consistencyTerms } from './consistency.js';
import { openRunFolder } from './run-lock.js';
import { openRunLog } from './run-log.js';
import { planParamGroups } from './param-groups.js';
import { setTrainingMode } from './freeze.js';
import { clipGradients } from './clip.js';
import { weightAverage } from './ema.js';
import { AdversarialTraining, discriminatorCheckpoint, restoreDiscriminator } from './adversarial.js';
import { DataParallel, dataParallelLengthIssue } from './data-parallel.js';
import { workerDeviceFor } from '../worker-device.js';

export interface TrainOptions {
  /** Continue from `<out>/checkpoints/latest`. */
  resume?: boolean;
  /** Start over in a run folder that holds a run (its config, log and checkpoints are removed). */
  overwrite?: boolean;
  progress?: boolean;
  /** Name of the config in messages. */
  where?: string;
  /** Checked after every iteration; true stops the run cleanly (a checkpoint is saved). */
  shouldStop?: () => boolean;
  /**
   * The run's clock in seconds (default: performance.now() / 1000). Read once after every
   * iteration, before shouldStop(), and around each validation; tests inject a simulated one.
   */
  clock?: () => number;
  /** Data-parallel training: this process's group (rank 0 writes the run; data.batch is per rank). */
  group?: distributed.ProcessGroup;
  /** libtorch threads when train.threads is not set (a data-parallel worker's share of the cores). */
  threads?: number;
  /** Set by train(): --resume found no checkpoint and started over (noted in the log). */
  freshResume?: boolean;
}

export interface TrainSummary {
  out: string;
  steps: number;
  startedAt: number;
  stoppedEarly: boolean;
  /** Seconds of the run (this segment), periodic validation included; the final validation follows. */
  trainSeconds: number;
  /** Iterations per second, validation excluded. */
  itPerSecond: number;
  /** Periodic validation's seconds (within trainSeconds). */
  validationSeconds: number;
  /** The schedule's length: train.iterations, or the length fitted to train.minutes. */
  scheduleLength: number | null;
  /** How the length was fitted (train.minutes alone), else null. */
  fit: FittedLengthState | null;
  /** Why the loop ended: the schedule's length, the time budget (train.iterations not reached), or shouldStop. */
  endReason: 'finished' | 'budget' | 'interrupted';
  /** Seconds the loop waited for tile files, and spent assembling batches (crops, augmentation). */
  dataWaitSeconds: number;
  assembleSeconds: number;
  lastLoss: number;
  best: CheckpointMeta['best'];
  lastEval: EvalResult | null;
  /** The last validation of the weight average (train.ema), else null. */
  lastEvalAveraged: EvalResult | null;
  classes: string[];
}

interface Split { val: number[] }

function splitOf(ds: DatasetJson): number[] {
  return ((ds.split as Split | null)?.val ?? []).slice();
}

/** A state dict from safetensors or a PyTorch file (torch.save of a state dict). */
function readWeights(path: string): Record<string, Tensor> {
  if (!existsSync(path)) throw new GeosegError(`${path}: encoder weights file not found`);
  try {
    return path.endsWith('.safetensors') ? torch.loadSafetensors(path) : (torch.load(path) as Record<string, Tensor>);
  } catch (e) {
    throw new GeosegError(`${path}: cannot read encoder weights (${(e as Error).message.split('\n')[0]})`);
  }
}

/** What the log and the CLI say when the clock ended a run before its schedule did. */
export function budgetNote(minutes: number, step: number, length: number | null): string {
  return length === null
    ? `the ${minutes}-minute budget ended the run at iteration ${step}, before its schedule's length could be fitted (iterations take more than 2% of the budget)`
    : `the ${minutes}-minute budget ended the run at iteration ${step} of ${length}: the schedule did not finish`;
}

/** A fitted schedule's length before its first estimate (a few iterations): in effect, no decay yet. */
const PROVISIONAL_LENGTH = 1e9;

/** The model's training outputs, in float32 (mixed precision: computed under autocast). */
function forwardOutputs(model: SegmentationModel, images: Tensor, precision: TrainConfig['train']['precision'], device: string): Record<string, Tensor> {
  if (precision === 'fp32') return model.forwardOutputs(images);
  const autocast = precision === 'bf16-mixed'
    ? { device: device.startsWith('cuda') ? 'cuda' as const : 'cpu' as const, dtype: 'bfloat16' as const }
    : { device: 'cuda' as const, dtype: 'float16' as const };
  const outputs = torch.autocast(autocast, () => model.forwardOutputs(images));
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, t.dtype === 'bfloat16' || t.dtype === 'float16' ? t.float() : t]));
}

export function modelConfigOf(cfg: TrainConfig, ds: DatasetJson): ModelConfig {
  const { encoderWeights: _w, init: _i, ...m } = cfg.model;
  return { ...m, classes: ds.classes.length, inChannels: ds.bands };
}

/** Refuses model.init unless its checkpoint holds this run's model, trained on this dataset's classes. */
function checkInit(cfg: TrainConfig, where: string): void {
  const init = cfg.model.init!;
  const dir = resolveCheckpoint(init);
  if (!relative(resolve(cfg.out), resolve(dir)).startsWith('..')) {
    throw new GeosegError(`${where}: model.init: ${init} is inside this run's out (${cfg.out}); a new run there would replace it (copy it elsewhere first)`);
  }
  const meta = readCheckpointMeta(dir);
  const ds = readDataset(cfg.data.dataset);
  // key order aside (a config may list the options in another order)
  const canon = (v: unknown) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
  const config = modelConfigOf(cfg, ds);
  if (canon(meta.model) !== canon(config)) {
    throw new GeosegError(`${where}: model.init: ${dir} holds ${JSON.stringify(meta.model)}, not this run's ${JSON.stringify(config)}`);
  }
  const names = (cs: { name: string }[]) => cs.map((c) => c.name).join(', ');
  if (names(meta.classes) !== names(ds.classes) || meta.ignoreIndex !== ds.ignoreIndex) {
    throw new GeosegError(`${where}: model.init: ${dir} was trained on the classes ${names(meta.classes)} (ignore ${meta.ignoreIndex}), this dataset has ${names(ds.classes)} (ignore ${ds.ignoreIndex})`);
  }
}

/** model.init: the whole model starts from a checkpoint's raw weights (fine-tuning; checked by checkInit). */
function initFromCheckpoint(model: SegmentationModel, path: string): void {
  const from = loadCheckpoint(path);
  try {
    torch.noGrad(() => model.loadStateDict(from.model.stateDict()));
  } finally {
    from.model.dispose();
  }
}

/**
 * Trains the run `cfg` in its folder `cfg.out`, which it holds alone (running.json): a folder that
 * already holds a run needs `resume` or `overwrite`.
 */
export async function train(cfg: TrainConfig, opts: TrainOptions = {}): Promise<TrainSummary> {
  const parallel = opts.group && opts.group.worldSize > 1
    ? new DataParallel(opts.group, cfg.train.overlapGradients, workerDeviceFor(cfg.train.device, opts.group, opts.group.backend === 'nccl', `${opts.where ?? 'config'}: train.device`))
    : null;
  const lengthIssue = parallel ? dataParallelLengthIssue(cfg) : null;
  if (lengthIssue) throw new GeosegError(`${opts.where ?? 'config'}: ${lengthIssue}`);
  // refusals before the run folder is touched (--overwrite would already have cleared it)
  const where = opts.where ?? 'config';
  if (parallel && cfg.adversarial) throw new GeosegError(`${where}: adversarial: not with data-parallel training (yet); train in one process`);
  // --resume of a run killed before its first checkpoint: nothing to continue, so it starts over
  // from step 0 (which is exactly the uninterrupted run); its config and log are replaced
  const latest = join(cfg.out, 'checkpoints', 'latest');
  const fresh = Boolean(opts.resume) && !opts.overwrite && ![latest, `${latest}.old`].some((d) => existsSync(join(d, 'meta.json')));
  const folder = fresh ? { resume: false, overwrite: true } : { resume: opts.resume, overwrite: opts.overwrite };
  if (cfg.model.init && !folder.resume) checkInit(cfg, where);
  // only rank 0 touches the run folder (the others read a checkpoint to resume)
  const close = !parallel || parallel.rank === 0 ? openRunFolder(cfg.out, folder) : () => undefined;
  try {
    return await trainInFolder(cfg, { ...opts, resume: folder.resume, freshResume: fresh }, parallel);
  } finally {
    close();
  }
}

async function trainInFolder(cfg: TrainConfig, opts: TrainOptions, parallel: DataParallel | null): Promise<TrainSummary> {
  const where = opts.where ?? 'config';
  const main = !parallel || parallel.rank === 0;
  const device = parallel ? parallel.device : cfg.train.device;
  useThreads(cfg.train.threads ?? opts.threads);
  const ds = readDataset(cfg.data.dataset);
  const val = splitOf(ds);
  const inVal = new Set(val);
  const trainTiles = ds.tiles.map((t) => t.id).filter((id) => !inVal.has(id));
  const units = evalUnits(ds, val);
  const scale = cfg.data.scale ? new Array(ds.bands).fill(cfg.data.scale) : defaultScale(ds);
  const sampling = ds.sampling as { weights?: number[]; rareClasses?: number[] } | null;
  if (cfg.data.sampling === 'dataset' && !sampling?.weights) throw new GeosegError(`${where}: data.sampling: 'dataset' but ${cfg.data.dataset} has no sampling weights (run geoseg split --sampling ...)`);
  const loader = new TileLoader(cfg.data.dataset, ds, {
    tiles: trainTiles, crop: cfg.data.crop, batch: cfg.data.batch, seed: cfg.train.seed, augmentation: cfg.augmentation,
    weights: cfg.data.sampling === 'dataset' ? sampling!.weights : null, rareClasses: sampling?.rareClasses ?? [], rareCropCandidates: cfg.data.rareCropCandidates, scale,
    shard: parallel ? { rank: parallel.rank, ranks: parallel.ranks } : undefined,
  });

  const modelConfig = modelConfigOf(cfg, ds);
  torch.manualSeed(cfg.train.seed);
  let model: SegmentationModel;
  let start = 0;
  let elapsedBefore = 0;
  let best: CheckpointMeta['best'] = null;
  const ckptDir = join(cfg.out, 'checkpoints');
  const latest = join(ckptDir, 'latest');
  let resumed: ReturnType<typeof loadCheckpoint> | null = null;
  if (opts.resume) {
    resumed = loadCheckpoint(latest, { withOptimizer: true });
    // each step's global batch and crops depend on the worker count
    const before = resumed.meta.workers ?? 1;
    const now = parallel?.ranks ?? 1;
    if (before !== now) throw new GeosegError(`${latest}: trained by ${before} worker${before === 1 ? '' : 's'}; resume it with ${before === 1 ? 'one process' : `--nproc ${before} (in all)`}, not ${now}`);
    model = resumed.model;
    start = resumed.meta.step;
    elapsedBefore = resumed.meta.elapsedSeconds;
    best = resumed.meta.best;
  } else {
    model = createModel(modelConfig);
    if (cfg.model.encoderWeights) loadEncoderWeights(model.encoder, readWeights(cfg.model.encoderWeights));
    if (cfg.model.init) initFromCheckpoint(model, cfg.model.init);
  }
  if (device !== 'cpu') model.to(device as torch.Device);
  if (cfg.train.channelsLast) useChannelsLast(model);
  parallel?.broadcastState(model);
  if (parallel && cfg.train.syncBatchNorm) torch.distributed.convertSyncBatchNorm(model, parallel.group);
  const average = cfg.train.ema ? weightAverage(cfg.train.ema.decay, model, modelConfig, resumed?.dir ?? null, device) : null;
  if (average && cfg.train.channelsLast) useChannelsLast(average.average);
  const plans = planParamGroups(model, cfg.optimizer, where);
  const optimizer = buildOptimizer(plans, cfg.optimizer);
  // the logged lr is the schedule's base lr (group lr / its multiplier)
  const logGroup = Math.max(0, plans.findIndex((g) => g.lrMult > 0));
  const budget = cfg.train.minutes !== undefined ? cfg.train.minutes * 60 : Infinity;
  // train.minutes alone: the length is fitted to the budget (a provisional one until the first estimate)
  const fit: FittedLengthState | null = cfg.train.iterations !== undefined ? null
    : resumed && isFittedLengthState(resumed.meta.fit) ? resumed.meta.fit : startFit(budget);
  if (fit && fit.budgetSeconds !== budget) {
    throw new GeosegError(`${where}: train.minutes: ${cfg.train.minutes} is not the ${fit.budgetSeconds / 60} minutes the resumed run's schedule was fitted to (put it back, or start over with --overwrite)`);
  }
  const scheduleLength = () => cfg.train.iterations ?? fit?.length ?? null;
  let schedule = buildScheduler(optimizer, cfg, where, scheduleLength() ?? PROVISIONAL_LENGTH);
  if (resumed) {
    if (resumed.meta.optimizer && resumed.optimizerTensors) {
      optimizer.loadStateDict(optim.optimizerStateFromTensors(resumed.optimizerTensors, resumed.meta.optimizer));
      torch.dispose(resumed.optimizerTensors);
    }
    if (resumed.meta.scheduler && schedule.scheduler) schedule.scheduler.loadStateDict(resumed.meta.scheduler as optim.SchedulerStateDict);
  }
  // fp16-mixed: loss scaling with PyTorch's defaults, continued exactly on resume
  const scaler = cfg.train.precision === 'fp16-mixed' ? new torch.amp.GradScaler() : null;
  if (scaler && resumed?.meta.gradScaler) scaler.loadStateDict(resumed.meta.gradScaler as torch.amp.GradScalerState);
  const weights = classWeights(cfg, ds, val, where);
  const objective = runObjective(cfg, modelConfig, { ignoreIndex: ds.ignoreIndex, classWeights: weights ?? undefined }, where);
  const adversarial = cfg.adversarial ? new AdversarialTraining(cfg.adversarial, ds.bands, ds.classes.length, ds.ignoreIndex, device) : null;
  if (adversarial && resumed) restoreDiscriminator(adversarial, resumed.dir, resumed.meta.discriminatorOptimizer);

  if (main) writeFileDurable(join(cfg.out, 'config.json'), JSON.stringify(cfg, null, 1));
  const log: ReturnType<typeof openRunLog> = main ? openRunLog(cfg.out, Boolean(opts.resume), start) : () => undefined;

  const norm = { mean: ds.normalization.mean, std: ds.normalization.std, scale };
  let lastEval: EvalResult | null = null;
  let lastEvalAveraged: EvalResult | null = null;
  let lastEvalStep = 0;
  const metaBase = (step: number, elapsed: number): Omit<CheckpointMeta, 'format' | 'version' | 'savedAt' | 'optimizer'> => ({
    step, elapsedSeconds: elapsed, model: modelConfig, classes: ds.classes, ignoreIndex: ds.ignoreIndex, bands: ds.bands, dtype: ds.dtype,
    normalization: norm, config: cfg, scheduler: schedule.scheduler?.stateDict() ?? null, fit, best,
    lastEval: lastEval ? { step: lastEvalStep, mIoU: lastEval.metrics.mIoU } : null,
    ...(parallel ? { workers: parallel.ranks } : {}),
    ...(scaler ? { gradScaler: scaler.stateDict() } : {}),
  });
  const save = (dir: string, opt: optim.OptimizerLike | null, step: number) => {
    if (!main) return;
    // the discriminator goes with the checkpoints a run resumes from (those with the optimizer)
    const d = adversarial && opt ? discriminatorCheckpoint(adversarial) : null;
    saveCheckpoint(dir, model, opt, { ...metaBase(step, elapsed), ...(d ? { discriminatorOptimizer: d.optimizer } : {}) }, average?.average ?? null, d?.files ?? {});
  };

  const clock = opts.clock ?? (() => performance.now() / 1000);
  const endStep = () => scheduleLength() ?? Infinity;
  // the clock ends the run when train.iterations is given too, or before a fitted length exists
  const clockEnds = () => fit === null || fit.length === null;
  const fitSettings = { evalEvery: cfg.train.evalEvery, warmup: cfg.scheduler.warmup };
  const progress = new Progress('train', (scheduleLength() ?? start) - start, 'it', main && (opts.progress ?? false));
  const fittedNote = () => (fit ? ` (schedule ${fit.length ?? '?'} it, fitted to ${cfg.train.minutes} min)` : '');
  const onEstimate = (e: LengthEstimate) => {
    log({ type: 'schedule', step: e.step, length: e.length, final: e.final, secondsPerIteration: e.secondsPerIteration, secondsPerValidation: e.secondsPerValidation, elapsedSeconds: e.elapsedSeconds });
    schedule = refitScheduler(schedule, optimizer, cfg, where, e.length);
    progress.setTotal(e.length - start);
  };
  log({
    type: 'start', step: start, schedule: fit ? { fittedTo: budget, length: fit.length } : { iterations: cfg.train.iterations, minutes: cfg.train.minutes ?? null },
    ...(parallel ? { dataParallel: { ranks: parallel.ranks, batchPerRank: cfg.data.batch, globalBatch: cfg.data.batch * parallel.ranks, backend: parallel.group.backend } } : {}),
  });
  if (opts.freshResume) log({ type: 'note', step: 0, message: 'resume: no checkpoint yet (the run stopped before its first one), so it starts from step 0' });
  /** The validation scenes with `m` (always channels-last: faster, and geoseg eval's layout, so its numbers). */
  const validate = async (m: SegmentationModel) => {
    if (cfg.train.channelsLast) return evaluate(m, cfg.data.dataset, ds, units, norm, cfg.eval);
    useChannelsLast(m);
    try {
      return await evaluate(m, cfg.data.dataset, ds, units, norm, cfg.eval);
    } finally {
      useContiguousFormat(m);
    }
  };
  // a class named background: its mIoU without it is logged too
  const background = backgroundClass(ds.classes, null);
  const runEval = async (step: number) => {
    if (units.length === 0) return;
    if (!main) {
      // rank 0 validates; a plateau schedule steps on its score everywhere
      const score = await parallel!.shareFromMain(NaN);
      if (schedule.scheduler instanceof optim.ReduceLROnPlateau) schedule.scheduler.step(score);
      return;
    }
    const result = await validate(model);
    const averaged = average ? await validate(average.average) : null;
    lastEval = result;
    lastEvalStep = step;
    lastEvalAveraged = averaged;
    log({
      type: 'eval', step, mIoU: result.metrics.mIoU, pixelAccuracy: result.metrics.pixelAccuracy, iou: result.metrics.iou, matrix: result.matrix, seconds: result.seconds,
      ...(background !== null ? { foregroundMIoU: foregroundMIoU(result.metrics, background) } : {}),
      ...(averaged ? { ema: { mIoU: averaged.metrics.mIoU, pixelAccuracy: averaged.metrics.pixelAccuracy, iou: averaged.metrics.iou, matrix: averaged.matrix } } : {}),
    });
    await parallel?.shareFromMain(result.metrics.mIoU);
    if (schedule.scheduler instanceof optim.ReduceLROnPlateau) schedule.scheduler.step(result.metrics.mIoU);
    if (!best || result.metrics.mIoU > best.value) {
      best = { metric: 'mIoU', value: result.metrics.mIoU, step };
      save(join(ckptDir, 'best'), null, step);
    }
  };

  let step = start;
  let elapsed = elapsedBefore;
  let dataWait = 0;
  let assembleTime = 0;
  let validationSeconds = 0;
  let lossSum = 0;
  let lossCount = 0;
  let lastLoss = NaN;
  let endReason: TrainSummary['endReason'] = 'finished';
  const loopStart = clock();
  let segmentStart = loopStart;
  // a fixed length prefetches no batch past its end; a fitted one may still grow
  const hasStep = (k: number) => cfg.train.iterations === undefined || k <= cfg.train.iterations;
  let next = loader.fetch(step + 1);
  let gradNormSum = 0;
  let clippedSteps = 0;
  let discriminatorLossSum = 0;
  try {
    while (step < endStep() && !(clockEnds() && elapsed >= budget)) {
      const k = step + 1;
      const t0 = performance.now();
      const files = await next;
      const t1 = performance.now();
      next = hasStep(k + 1) ? loader.fetch(k + 1) : Promise.resolve([]); // read the next batch while this one computes
      // (each rank its own dropout draws; rank 0's are a single process's)
      torch.manualSeed(parallel && parallel.rank > 0 ? mix32(cfg.train.seed, k, 1, parallel.rank) : mix32(cfg.train.seed, k, 1));
      setTrainingMode(model, cfg.train.freezeEncoder, k);
      const pretraining = adversarial?.pretraining(k) ?? false;
      if (pretraining) model.eval(); // the discriminator learns the trained model's predictions
      let [value, gradNorm] = torch.tidy(() => {
        const batch = loader.assemble(k, files);
        assembleTime += (performance.now() - t1) / 1000;
        const progressFraction = Number.isFinite(endStep()) ? k / endStep() : elapsed / budget;
        if (device !== 'cpu') {
          batch.images = batch.images.to(device as torch.Device);
          batch.masks = batch.masks.to(device as torch.Device);
        }
        if (cfg.train.channelsLast) batch.images = channelsLast(batch.images);
        if (pretraining) {
          // only the discriminator learns, nothing of the model is stepped; the logged loss is the
          // discriminator's (in eval mode a model lacks its training-only outputs, such as aux
          // heads, so its own loss cannot be computed)
          const outputs = torch.noGrad(() => forwardOutputs(model, batch.images, cfg.train.precision, device));
          const d = adversarial!.step(batch.images, torch.noGrad(() => model.probabilities(outputs as ModelOutputs)), batch.masks);
          discriminatorLossSum += d;
          return [d, null] as const;
        }
        const outputs = forwardOutputs(model, batch.images, cfg.train.precision, device);
        let { total } = objective(outputs, batch.masks, { progress: progressFraction });
        const probabilities = adversarial ? model.probabilities(outputs as ModelOutputs) : null;
        if (adversarial) total = total.add(adversarial.generatorTerm(batch.images, probabilities!));
        if (cfg.consistency) {
          const c = consistencyTerms(batch.images, outputs, batch.masks, ds.ignoreIndex, cfg.consistency,
            (x) => forwardOutputs(model, x, cfg.train.precision, device), (o) => model.probabilities(o as ModelOutputs));
          total = total.add(c.consistency);
          if (c.mining) total = total.add(c.mining);
        }
        optimizer.zeroGrad();
        const scaled = scaler ? scaler.scale(total) : total;
        if (parallel) parallel.backward(scaled, model.parameters()); // gradients averaged across ranks as they are written
        else scaled.backward();
        scaler?.unscale_(optimizer); // clipping sees the true gradients
        const norm = clipGradients(model.parameters(), cfg.optimizer);
        if (adversarial) {
          adversarial.dropGradients(); // the "fool D" term's gradients in D are not D's to apply
          discriminatorLossSum += adversarial.step(batch.images, probabilities!, batch.masks);
        }
        if (!scaler) {
          optimizer.step();
          return [total.item(), norm] as const;
        }
        const stepped = scaler.step(optimizer); // skipped on inf/NaN gradients
        scaler.update();
        return [total.item(), stepped ? norm : null] as const; // a skipped step's norm is inf
      });
      average?.update();
      // data-parallel: the ranks' mean loss, and a stop any rank was asked for, everywhere
      let stopAsked = false;
      if (parallel) ({ loss: value, stop: stopAsked } = parallel.agree(value, opts.shouldStop?.() ?? false));
      if (!Number.isFinite(value)) throw new GeosegError(`iteration ${k}: the loss is ${value} (lower the learning rate, or check the labels and class weights)`);
      if (schedule.perIteration) schedule.scheduler?.step();
      dataWait += (t1 - t0) / 1000;
      step = k;
      lastLoss = value;
      lossSum += value;
      lossCount++;
      if (gradNorm !== null) {
        gradNormSum += gradNorm;
        if (gradNorm > cfg.optimizer.clipGradNorm!) clippedSteps++;
      }
      const now = clock();
      elapsed += now - segmentStart;
      segmentStart = now;
      const estimate = fit ? afterIteration(fit, step, elapsed, fitSettings) : null;
      if (estimate) onEstimate(estimate);
      const lr = optimizer.paramGroups[logGroup].lr / (plans[logGroup].lrMult || 1);
      const rate = (step - start) / Math.max(now - loopStart - validationSeconds, 1e-9);
      const status = `loss ${value.toFixed(4)} lr ${lr.toExponential(2)}${fittedNote()}`;
      progress.tick(1, status);
      if (step % cfg.train.logEvery === 0) {
        const clipping = cfg.optimizer.clipGradNorm !== null ? { gradNorm: gradNormSum / lossCount, clippedSteps } : {};
        // NCCL's collectives run on the GPU's streams: the host's wait is not their time (use a profiler)
        const communication = parallel && parallel.group.backend !== 'nccl' ? { communicationSeconds: parallel.communicationSeconds } : {};
        const scaling = scaler ? { lossScale: scaler.getScale() } : {};
        const discriminator = adversarial ? { discriminatorLoss: discriminatorLossSum / lossCount } : {};
        log({ type: 'train', step, loss: lossSum / lossCount, lr, itPerSecond: rate, dataWaitSeconds: dataWait, elapsedSeconds: elapsed, ...clipping, ...communication, ...scaling, ...discriminator });
        discriminatorLossSum = 0;
        lossSum = 0;
        lossCount = 0;
        gradNormSum = 0;
        clippedSteps = 0;
      }
      const stop = parallel ? stopAsked : opts.shouldStop?.() ?? false;
      const last = step >= endStep() || (clockEnds() && elapsed >= budget); // the final evaluation follows the loop
      if (cfg.train.evalEvery > 0 && step % cfg.train.evalEvery === 0 && !last && !stop) {
        // periodic validation counts against the time budget (the next iteration's time includes it)
        const e0 = clock();
        await runEval(step);
        const e1 = clock();
        validationSeconds += e1 - e0;
        if (fit) recordValidation(fit, e1 - e0);
        // in the elapsed time now, so a checkpoint saved below holds it
        elapsed += e1 - segmentStart;
        segmentStart = e1;
      }
      if (step % cfg.train.checkpointEvery === 0 || stop) save(latest, optimizer, step);
      if (stop) {
        endReason = 'interrupted';
        break;
      }
    }
    await next.catch(() => undefined);
    if (endReason !== 'interrupted' && step < endStep()) {
      endReason = 'budget';
      log({ type: 'note', step, message: budgetNote(cfg.train.minutes!, step, scheduleLength()) });
    }
    if (endReason !== 'interrupted') {
      await runEval(step);
      save(latest, optimizer, step);
    }
    // The last line says how the run ended (the viewer reads it; a run without one is running or was killed).
    log({ type: 'end', step, reason: endReason, elapsedSeconds: elapsed, scheduleLength: scheduleLength() });
  } finally {
    loader.dispose();
  }
  const trainSeconds = elapsed - elapsedBefore;
  return {
    out: cfg.out, steps: step, startedAt: start, stoppedEarly: endReason === 'interrupted', trainSeconds,
    itPerSecond: (step - start) / Math.max(trainSeconds - validationSeconds, 1e-9), validationSeconds, scheduleLength: scheduleLength(), fit, endReason,
    dataWaitSeconds: dataWait, assembleSeconds: assembleTime, lastLoss, best, lastEval, lastEvalAveraged, classes: ds.classes.map((c) => c.name),
  };
}
