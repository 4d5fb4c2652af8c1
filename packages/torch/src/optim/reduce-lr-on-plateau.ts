// ReduceLROnPlateau: PyTorch 1.13's, step(metric) after each evaluation. When the metric has not
// improved for more than `patience` steps, every group's lr is multiplied by `factor` (not below
// its minLr); then `cooldown` steps pass before bad steps are counted again.
import { LRScheduler, finiteNumber, type HasParamGroups, type SchedulerStateDict } from './lr-scheduler.js';

export interface ReduceLROnPlateauOptions {
  /** 'min': lower metrics are better (a loss); 'max': higher are (an IoU). */
  mode: 'min' | 'max';
  /** Multiplies the lr on a plateau; < 1. */
  factor: number;
  /** Steps without improvement tolerated before reducing. */
  patience: number;
  /** The least change that counts as an improvement: relative (`rel`) or absolute (`abs`). */
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  /** Steps after a reduction during which bad steps are not counted. */
  cooldown: number;
  /** Lower bound on the lr: one number, or one per group. */
  minLr: number | number[];
  /** Reductions smaller than this are skipped. */
  eps: number;
}

export class ReduceLROnPlateau extends LRScheduler {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  /** Best metric so far (±Infinity before the first). */
  best: number;
  numBadSteps = 0;
  cooldownCounter = 0;

  constructor(optimizer: HasParamGroups, options: Partial<ReduceLROnPlateauOptions> = {}) {
    super(optimizer, 'ReduceLROnPlateau');
    const what = 'ReduceLROnPlateau';
    const { mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4, thresholdMode = 'rel', cooldown = 0, minLr = 0, eps = 1e-8 } = options;
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`${what}: mode must be 'min' or 'max', got ${String(mode)}`);
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw new RangeError(`${what}: thresholdMode must be 'rel' or 'abs', got ${String(thresholdMode)}`);
    if (!(finiteNumber(what, 'factor', factor, 0) < 1)) throw new RangeError(`${what}: factor must be < 1, got ${factor}`);
    if (!Number.isInteger(patience) || patience < 0) throw new RangeError(`${what}: invalid patience ${String(patience)} (must be an integer >= 0)`);
    if (!Number.isInteger(cooldown) || cooldown < 0) throw new RangeError(`${what}: invalid cooldown ${String(cooldown)} (must be an integer >= 0)`);
    const groups = optimizer.paramGroups.length;
    const minLrs = Array.isArray(minLr) ? minLr : new Array<number>(groups).fill(minLr);
    if (minLrs.length !== groups) throw new RangeError(`${what}: expected ${groups} minLr values (one per parameter group), got ${minLrs.length}`);
    minLrs.forEach((v) => finiteNumber(what, 'minLr', v, 0));
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = finiteNumber(what, 'threshold', threshold, 0);
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = [...minLrs];
    this.eps = finiteNumber(what, 'eps', eps, 0);
    this.best = this.worst();
  }

  private worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** Record one evaluation's metric; reduce the lr if it has plateaued. */
  step(metric?: number): void {
    if (typeof metric !== 'number') {
      throw new TypeError(`ReduceLROnPlateau.step: expected the metric as a number, got ${typeof metric}${metric && typeof metric === 'object' ? ' (use tensor.item())' : ''}`);
    }
    this.lastStep++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadSteps = 0;
    } else {
      this.numBadSteps++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadSteps = 0; // bad steps during the cooldown do not count
    }
    if (this.numBadSteps > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadSteps = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  override stateDict(): SchedulerStateDict {
    // JSON has no Infinity: a best of null means "none yet".
    return {
      ...super.stateDict(), best: Number.isFinite(this.best) ? this.best : null,
      numBadSteps: this.numBadSteps, cooldownCounter: this.cooldownCounter,
    };
  }

  protected override loadExtra(sd: SchedulerStateDict, what: string): void {
    const { best, numBadSteps, cooldownCounter } = sd;
    if (best !== null && typeof best !== 'number') throw new Error(`${what}: invalid best ${String(best)}`);
    if (!Number.isInteger(numBadSteps) || !Number.isInteger(cooldownCounter)) throw new Error(`${what}: invalid numBadSteps / cooldownCounter`);
    this.best = best ?? this.worst();
    this.numBadSteps = numBadSteps as number;
    this.cooldownCounter = cooldownCounter as number;
  }
}
