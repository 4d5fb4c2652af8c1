// Loss scaling for float16 mixed precision, PyTorch 1.13's torch.cuda.amp.GradScaler: the loss
// is multiplied by a scale before backward so small float16 gradients do not flush to zero; the
// gradients are divided by it again before the optimizer steps; a step whose gradients hold an
// inf or NaN is skipped and the scale backs off, and after `growthInterval` clean steps in a row
// it grows. The update rule is ATen's _amp_update_scale_ (the scale kept in float32). Works on
// any device (on CPU its logic is testable; float16 autocast itself needs CUDA).
import { noGrad } from '../autograd.js';
import { tidy } from '../memory.js';
import type { OptimizerLike } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  enabled?: boolean;
}

/** PyTorch's GradScaler.state_dict() names. */
export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

type Stage = { unscaled: boolean; stepped: boolean; foundInf: boolean };

export class GradScaler {
  #scale: number;
  #growthTracker = 0;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly enabled: boolean;
  // per optimizer, since the last update()
  #stages = new Map<OptimizerLike, Stage>();

  constructor({ initScale = 65536, growthFactor = 2, backoffFactor = 0.5, growthInterval = 2000, enabled = true }: GradScalerOptions = {}) {
    if (!(growthFactor > 1)) throw new RangeError(`GradScaler: growthFactor must be > 1, got ${growthFactor}`);
    if (!(backoffFactor > 0 && backoffFactor < 1)) throw new RangeError(`GradScaler: backoffFactor must be in (0, 1), got ${backoffFactor}`);
    if (!(Number.isInteger(growthInterval) && growthInterval > 0)) throw new RangeError(`GradScaler: growthInterval must be a positive integer, got ${growthInterval}`);
    if (!(initScale > 0 && Number.isFinite(initScale))) throw new RangeError(`GradScaler: initScale must be a positive number, got ${initScale}`);
    this.#scale = Math.fround(initScale);
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
    this.enabled = enabled;
  }

  /** The loss (or any outputs) times the current scale; unchanged when disabled. */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    // a float16 loss times 65536 would overflow: scaled in float32, as PyTorch's float32 scale tensor promotes it
    return (loss.dtype === 'float16' || loss.dtype === 'bfloat16' ? loss.float() : loss).mul(this.#scale);
  }

  getScale(): number {
    return this.enabled ? this.#scale : 1;
  }

  getGrowthTracker(): number {
    return this.#growthTracker;
  }

  #stage(optimizer: OptimizerLike): Stage {
    let s = this.#stages.get(optimizer);
    if (!s) this.#stages.set(optimizer, (s = { unscaled: false, stepped: false, foundInf: false }));
    return s;
  }

  /**
   * Divide the optimizer's gradients by the scale in place (before clipping them) and note
   * whether any is inf or NaN. Once per optimizer between updates.
   */
  unscale_(optimizer: OptimizerLike): void {
    if (!this.enabled) return;
    const stage = this.#stage(optimizer);
    if (stage.unscaled) throw new Error('GradScaler: unscale_() has already been called on this optimizer since the last update()');
    if (stage.stepped) throw new Error('GradScaler: unscale_() is being called after step()');
    // the reciprocal in double, then float32, as PyTorch's unscale_
    const inverse = Math.fround(1 / this.#scale);
    stage.foundInf = tidy(() => noGrad(() => {
      let finite: Tensor | null = null;
      for (const group of optimizer.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (!g) continue;
          // checked before unscaling, as PyTorch's kernel does
          const ok = g.isfinite().all();
          g.mul_(inverse);
          finite = finite ? finite.logicalAnd(ok) : ok;
        }
      }
      if (!finite) throw new Error('GradScaler: no inf checks were recorded for this optimizer (no parameter has a gradient)');
      return !finite.item();
    }));
    stage.unscaled = true;
  }

  /** Unscale (unless done) and step the optimizer, unless a gradient was inf or NaN; returns whether it stepped. */
  step(optimizer: OptimizerLike): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    const stage = this.#stage(optimizer);
    if (stage.stepped) throw new Error('GradScaler: step() has already been called since the last update()');
    if (!stage.unscaled) this.unscale_(optimizer);
    stage.stepped = true;
    if (stage.foundInf) return false;
    optimizer.step();
    return true;
  }

  /** After the step(s): back off on an inf/NaN, grow after growthInterval clean steps (or set `newScale`). */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      if (!(newScale > 0 && Number.isFinite(newScale))) throw new RangeError(`GradScaler.update: newScale must be a positive number, got ${newScale}`);
      this.#scale = Math.fround(newScale);
    } else {
      const stages = [...this.#stages.values()];
      if (stages.length === 0 || !stages.some((s) => s.unscaled)) throw new Error('GradScaler: no inf checks were recorded prior to update()');
      if (stages.some((s) => s.foundInf)) {
        this.#scale = Math.fround(this.#scale * this.backoffFactor);
        this.#growthTracker = 0;
      } else if (this.#growthTracker + 1 === this.growthInterval) {
        const grown = Math.fround(this.#scale * this.growthFactor);
        if (Number.isFinite(grown)) this.#scale = grown;
        this.#growthTracker = 0;
      } else {
        this.#growthTracker++;
      }
    }
    this.#stages = new Map();
  }

  stateDict(): GradScalerState {
    return { scale: this.getScale(), growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: this.#growthTracker };
  }

  /** Restore a stateDict() (the factors and interval must be this scaler's). */
  loadStateDict(state: GradScalerState): void {
    for (const [k, mine] of [['growth_factor', this.growthFactor], ['backoff_factor', this.backoffFactor], ['growth_interval', this.growthInterval]] as const) {
      if (state[k] !== mine) throw new Error(`GradScaler.loadStateDict: ${k} is ${state[k]} in the state, ${mine} here`);
    }
    if (!(state.scale > 0 && Number.isFinite(state.scale)) || !Number.isInteger(state._growth_tracker) || state._growth_tracker < 0) {
      throw new Error(`GradScaler.loadStateDict: scale ${state.scale} and growth tracker ${state._growth_tracker} are not a scaler's`);
    }
    this.#scale = Math.fround(state.scale);
    this.#growthTracker = state._growth_tracker;
  }
}
