// LinearWarmup: ramp each group's lr linearly from startFactor * base up to base over
// warmupSteps steps, then hand over to another scheduler, which starts from its own step 0.
import { LRScheduler, finiteNumber, type SchedulerStateDict } from './lr-scheduler.js';

export interface LinearWarmupOptions {
  warmupSteps: number;
  /** Fraction of the base lr at step 0, in (0, 1]; default 0.001. */
  startFactor?: number;
}

export class LinearWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly startFactor: number;
  /** The inner schedule's step-0 lrs, which the warmup ramps up to. */
  baseLrs: number[];

  /**
   * `inner` is the schedule after warmup, made on the same optimizer and not stepped yet. During
   * warmup a ReduceLROnPlateau inner scheduler ignores the metrics passed to step().
   */
  constructor(readonly inner: LRScheduler, { warmupSteps, startFactor = 0.001 }: LinearWarmupOptions) {
    if (!(inner instanceof LRScheduler)) throw new TypeError('LinearWarmup: expected the scheduler to use after warmup');
    super(inner.optimizer, 'LinearWarmup');
    if (inner.lastStep !== 0) throw new Error(`LinearWarmup: the inner scheduler must not have been stepped (it is at step ${inner.lastStep})`);
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new RangeError(`LinearWarmup: invalid warmupSteps ${String(warmupSteps)} (must be an integer >= 0)`);
    finiteNumber('LinearWarmup', 'startFactor', startFactor);
    if (!(startFactor > 0 && startFactor <= 1)) throw new RangeError(`LinearWarmup: invalid startFactor ${startFactor} (must be in (0, 1])`);
    this.warmupSteps = warmupSteps;
    this.startFactor = startFactor;
    this.baseLrs = inner.getLastLr();
    this.apply();
  }

  step(metric?: number): void {
    this.lastStep++;
    if (this.lastStep <= this.warmupSteps) this.apply();
    else {
      this.inner.step(metric);
      this.lastLr = this.inner.getLastLr();
    }
  }

  // During warmup, the ramp; at its end, the inner scheduler's step-0 lr.
  private apply(): void {
    const t = this.lastStep;
    if (t < this.warmupSteps) {
      const factor = this.startFactor + ((1 - this.startFactor) * t) / this.warmupSteps;
      this.setLr(this.baseLrs.map((b) => b * factor));
    } else {
      this.setLr(this.inner.getLastLr());
    }
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), baseLrs: [...this.baseLrs], inner: this.inner.stateDict() };
  }

  protected override loadExtra(sd: SchedulerStateDict, what: string): void {
    if (!Array.isArray(sd.baseLrs) || sd.baseLrs.length !== this.baseLrs.length) throw new Error(`${what}: invalid baseLrs ${JSON.stringify(sd.baseLrs)}`);
    this.inner.loadStateDict(sd.inner as SchedulerStateDict);
    this.baseLrs = [...(sd.baseLrs as number[])];
  }
}
