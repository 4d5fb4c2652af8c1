// Learning-rate schedulers. Each sets `lr` on its optimizer's parameter groups: once when made
// (the schedule's step 0, as PyTorch's schedulers do), then at every step(). Call step() after
// optimizer.step(), once per iteration or per epoch, whichever the schedule counts.
//
// The schedules here are closed forms of the step count and each group's base lr (its lr when
// the scheduler was made), so they compose with LinearWarmup and resume exactly.

/** Anything with parameter groups that have an lr (an Optimizer, a Lookahead). */
export interface HasParamGroups {
  readonly paramGroups: ReadonlyArray<{ lr: number }>;
}

/** A scheduler's state: plain JSON-safe data. */
export interface SchedulerStateDict {
  type: string;
  lastStep: number;
  lastLr: number[];
  [key: string]: unknown;
}

export function positiveInteger(what: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${what}: invalid ${name} ${String(v)} (must be an integer >= 1)`);
  return v as number;
}

export function finiteNumber(what: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`${what}: invalid ${name} ${String(v)} (must be a finite number${min > -Infinity ? ` >= ${min}` : ''})`);
  return v;
}

function numberList(what: string, name: string, v: unknown, length: number): number[] {
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${what}: '${name}' must be ${length} numbers (one per parameter group), got ${JSON.stringify(v)}`);
  }
  return [...v];
}

export abstract class LRScheduler {
  /** Steps taken (PyTorch's last_epoch). */
  lastStep = 0;
  protected lastLr: number[];

  constructor(readonly optimizer: HasParamGroups, protected readonly type: string) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new TypeError(`${type}: expected an optimizer (something with paramGroups)`);
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Advance one step and set the groups' lr. (ReduceLROnPlateau takes the metric.) */
  abstract step(metric?: number): void;

  /** The lr of each group as this scheduler last set it. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { type: this.type, lastStep: this.lastStep, lastLr: [...this.lastLr] };
  }

  /**
   * Restore a stateDict() and set the groups' lr to the restored values (so it does not matter
   * whether the optimizer's state is loaded before or after).
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const what = `${this.type}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new TypeError(`${what}: expected a state dict object`);
    if (sd.type !== this.type) throw new Error(`${what}: the state dict is from a ${String(sd.type)}, not a ${this.type}`);
    if (!Number.isInteger(sd.lastStep) || sd.lastStep < 0) throw new Error(`${what}: invalid lastStep ${String(sd.lastStep)}`);
    const lastLr = numberList(what, 'lastLr', sd.lastLr, this.optimizer.paramGroups.length);
    this.loadExtra(sd, what);
    this.lastStep = sd.lastStep;
    this.setLr(lastLr);
  }

  /** Subclasses restore their own fields here (after checking them). */
  protected loadExtra(_sd: SchedulerStateDict, _what: string): void {}

  protected setLr(lrs: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      (g as { lr: number }).lr = lrs[i];
    });
    this.lastLr = [...lrs];
  }
}

/** A schedule computed from each group's base lr and the step count. */
abstract class BaseLrScheduler extends LRScheduler {
  /** Each group's lr when the scheduler was made. */
  baseLrs: number[];

  constructor(optimizer: HasParamGroups, type: string) {
    super(optimizer, type);
    this.baseLrs = [...this.lastLr];
  }

  protected abstract lrAt(base: number): number;

  step(): void {
    this.lastStep++;
    this.advance();
    this.apply();
  }

  /** Update any state besides lastStep (warm restarts). */
  protected advance(): void {}

  protected apply(): void {
    this.setLr(this.baseLrs.map((b) => this.lrAt(b)));
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), baseLrs: [...this.baseLrs] };
  }

  protected override loadExtra(sd: SchedulerStateDict, what: string): void {
    this.baseLrs = numberList(what, 'baseLrs', sd.baseLrs, this.optimizer.paramGroups.length);
  }
}

/**
 * Polynomial decay ("poly", DeepLab): lr = base * (1 - t / totalSteps) ^ power, 0 from totalSteps
 * on. power defaults to DeepLab's 0.9 (PyTorch's PolynomialLR defaults to 1).
 */
export class PolyLR extends BaseLrScheduler {
  readonly totalSteps: number;
  readonly power: number;

  constructor(optimizer: HasParamGroups, { totalSteps, power = 0.9 }: { totalSteps: number; power?: number }) {
    super(optimizer, 'PolyLR');
    this.totalSteps = positiveInteger('PolyLR', 'totalSteps', totalSteps);
    this.power = finiteNumber('PolyLR', 'power', power, 0);
    this.apply();
  }

  protected lrAt(base: number): number {
    return base * (1 - Math.min(this.lastStep, this.totalSteps) / this.totalSteps) ** this.power;
  }
}

/** lr = base * gamma ^ floor(t / stepSize). */
export class StepLR extends BaseLrScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: HasParamGroups, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }) {
    super(optimizer, 'StepLR');
    this.stepSize = positiveInteger('StepLR', 'stepSize', stepSize);
    this.gamma = finiteNumber('StepLR', 'gamma', gamma, 0);
    this.apply();
  }

  protected lrAt(base: number): number {
    return base * this.gamma ** Math.floor(this.lastStep / this.stepSize);
  }
}

/**
 * Cosine annealing from base to etaMin over tMax steps, in PyTorch's closed form
 * lr = etaMin + (base - etaMin) * (1 + cos(pi * t / tMax)) / 2 (which rises again after tMax).
 */
export class CosineAnnealingLR extends BaseLrScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: HasParamGroups, { tMax, etaMin = 0 }: { tMax: number; etaMin?: number }) {
    super(optimizer, 'CosineAnnealingLR');
    this.tMax = positiveInteger('CosineAnnealingLR', 'tMax', tMax);
    this.etaMin = finiteNumber('CosineAnnealingLR', 'etaMin', etaMin);
    this.apply();
  }

  protected lrAt(base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastStep) / this.tMax))) / 2;
  }
}

/**
 * SGDR (Loshchilov & Hutter), as PyTorch's CosineAnnealingWarmRestarts: cosine annealing over a
 * cycle of tI steps, then a restart at base lr with the next cycle tMult times longer
 * (t0, t0 * tMult, t0 * tMult², …).
 */
export class CosineAnnealingWarmRestarts extends BaseLrScheduler {
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;
  /** Steps since the last restart, and the length of the current cycle. */
  tCur = 0;
  tI: number;

  constructor(optimizer: HasParamGroups, { t0, tMult = 1, etaMin = 0 }: { t0: number; tMult?: number; etaMin?: number }) {
    super(optimizer, 'CosineAnnealingWarmRestarts');
    this.t0 = positiveInteger('CosineAnnealingWarmRestarts', 't0', t0);
    this.tMult = positiveInteger('CosineAnnealingWarmRestarts', 'tMult', tMult);
    this.etaMin = finiteNumber('CosineAnnealingWarmRestarts', 'etaMin', etaMin);
    this.tI = this.t0;
    this.apply();
  }

  protected override advance(): void {
    this.tCur++;
    if (this.tCur >= this.tI) {
      this.tCur -= this.tI;
      this.tI *= this.tMult;
    }
  }

  protected lrAt(base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2;
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), tCur: this.tCur, tI: this.tI };
  }

  protected override loadExtra(sd: SchedulerStateDict, what: string): void {
    super.loadExtra(sd, what);
    if (!Number.isInteger(sd.tCur) || !Number.isInteger(sd.tI) || (sd.tI as number) < 1 || (sd.tCur as number) < 0) {
      throw new Error(`${what}: invalid tCur ${String(sd.tCur)} / tI ${String(sd.tI)}`);
    }
    this.tCur = sd.tCur as number;
    this.tI = sd.tI as number;
  }
}
