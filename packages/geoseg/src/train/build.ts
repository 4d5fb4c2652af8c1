// Optimizer, scheduler and class weights from a run config.
import { optim } from '@geoseg/torch';
import type { DatasetJson } from '../data/dataset.js';
import { trainFrequencies } from '../data/sampling.js';
import { GeosegError } from '../errors.js';
import type { TrainConfig } from './config.js';
import type { ParamGroupPlan } from './param-groups.js';

/**
 * The optimizer over planned parameter groups (planParamGroups), each with the base lr and weight
 * decay times its multipliers; a single group with no multipliers is the plain parameter list.
 */
export function buildOptimizer(plans: ParamGroupPlan[], c: TrainConfig['optimizer']): optim.OptimizerLike {
  const plain = plans.length === 1 && plans[0].lrMult === 1 && plans[0].decayMult === 1;
  const groups = plain ? plans[0].params : plans.map((g) => ({ params: g.params, lr: c.lr * g.lrMult, weightDecay: c.weightDecay * g.decayMult }));
  const inner: optim.OptimizerLike =
    c.name === 'sgd' ? new optim.SGD(groups, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov })
    : c.name === 'adam' ? new optim.Adam(groups, { lr: c.lr, weightDecay: c.weightDecay })
    : c.name === 'adamw' ? new optim.AdamW(groups, { lr: c.lr, weightDecay: c.weightDecay })
    : new optim.RAdam(groups, { lr: c.lr, weightDecay: c.weightDecay });
  return c.lookahead ? new optim.Lookahead(inner, c.lookahead) : inner;
}

/** A scheduler stepped every iteration, or ReduceLROnPlateau stepped after each evaluation. */
export interface Schedule {
  scheduler: optim.LRScheduler | optim.ReduceLROnPlateau | null;
  perIteration: boolean;
}

/**
 * The run's schedule over `length` iterations (warmup included): train.iterations, or the length
 * fitted to train.minutes (see fitted-length.ts).
 */
export function buildScheduler(opt: optim.OptimizerLike, cfg: TrainConfig, where: string, length = cfg.train.iterations): Schedule {
  const c = cfg.scheduler;
  const needTotal = () => {
    if (length === undefined) throw new GeosegError(`${where}: scheduler.name: '${c.name}' needs train.iterations or train.minutes (the schedule's length)`);
    return Math.max(1, length - c.warmup);
  };
  let s: optim.LRScheduler | optim.ReduceLROnPlateau | null;
  switch (c.name) {
    case 'none': s = null; break;
    case 'poly': s = new optim.PolyLR(opt, { totalSteps: needTotal(), power: c.power }); break;
    case 'cosine': s = new optim.CosineAnnealingLR(opt, { tMax: needTotal(), etaMin: c.minLr }); break;
    case 'restarts': s = new optim.CosineAnnealingWarmRestarts(opt, { t0: c.t0 ?? Math.max(1, Math.floor(needTotal() / 4)), tMult: c.tMult, etaMin: c.minLr }); break;
    case 'step':
      if (c.stepSize === undefined) throw new GeosegError(`${where}: scheduler.stepSize: required for scheduler 'step'`);
      s = new optim.StepLR(opt, { stepSize: c.stepSize, gamma: c.gamma });
      break;
    case 'plateau':
      if (c.warmup > 0) throw new GeosegError(`${where}: scheduler.warmup: not available with 'plateau' (it steps on evaluations, not iterations)`);
      if (cfg.train.evalEvery === 0) throw new GeosegError(`${where}: scheduler.name: 'plateau' needs train.evalEvery > 0 (it reacts to validation mIoU)`);
      return { scheduler: new optim.ReduceLROnPlateau(opt, { mode: 'max', factor: c.gamma, patience: c.patience, minLr: c.minLr }), perIteration: false };
  }
  if (c.warmup > 0) {
    s = new optim.LinearWarmup(s ?? new optim.StepLR(opt, { stepSize: 1 << 30, gamma: 1 }), { warmupSteps: c.warmup });
  }
  return { scheduler: s, perIteration: true };
}

/**
 * The same schedule over a new length, at the step `schedule` has reached (the groups' lr is
 * set for the next iteration as the new length gives it).
 */
export function refitScheduler(schedule: Schedule, opt: optim.OptimizerLike, cfg: TrainConfig, where: string, length: number): Schedule {
  const old = schedule.scheduler;
  if (!schedule.perIteration || !old) return schedule;
  // a scheduler takes the groups' current lr as its base: put the base lrs back first
  const bases = (old as optim.LRScheduler & { baseLrs?: number[] }).baseLrs;
  if (!bases) throw new Error(`refitScheduler: ${old.constructor.name} has no base lrs to rebuild from`);
  opt.paramGroups.forEach((g, i) => { (g as { lr: number }).lr = bases[i]; });
  const next = buildScheduler(opt, cfg, where, length);
  for (let i = 0; i < old.lastStep; i++) next.scheduler!.step();
  return next;
}

/** Class weights for ce/focal from the config: suggestions computed on the training tiles, or explicit. */
export function classWeights(cfg: TrainConfig, ds: DatasetJson, valTiles: number[], where: string): number[] | null {
  const c = cfg.classWeights;
  const C = ds.classes.length;
  if (c === 'none') return null;
  if (Array.isArray(c)) {
    if (c.length !== C) throw new GeosegError(`${where}: classWeights: expected ${C} numbers (one per class), got ${c.length}`);
    return c;
  }
  const f = trainFrequencies(ds.tiles, valTiles, C);
  const total = f.reduce((a, b) => a + b, 0) || 1;
  const freq = f.map((x) => x / total);
  const present = freq.filter((x) => x > 0).sort((a, b) => a - b);
  const median = present.length ? present[Math.floor((present.length - 1) / 2)] : 0;
  if (c === 'inverse') return freq.map((x) => (x > 0 ? 1 / x : 0));
  if (c === 'median') return freq.map((x) => (x > 0 ? median / x : 0));
  // the seeds' w_i = softmax(max f - f_i), scaled to mean 1
  const maxF = Math.max(...freq);
  const e = freq.map((x) => Math.exp(maxF - x));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => (C * x) / z);
}
