// Lookahead (Zhang et al., "Lookahead Optimizer: k steps forward, 1 step back"): wraps any
// optimizer. The inner one moves the (fast) weights; every k of its steps, the slow weights move
// toward them, slow += alpha * (fast - slow), and the fast weights restart from there.
import { noGrad } from '../autograd.js';
import { tidy } from '../memory.js';
import { Tensor } from '../tensor.js';
import type { OptimizerLike, OptimizerStateDict, ParamState } from './optimizer.js';

export interface LookaheadOptions {
  /** Inner steps between synchronizations. */
  k: number;
  /** How far the slow weights move toward the fast ones. */
  alpha: number;
}

function checkOptions(k: unknown, alpha: unknown, what: string): void {
  if (!Number.isInteger(k) || (k as number) < 1) throw new RangeError(`${what}: invalid k ${String(k)} (must be an integer >= 1)`);
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new RangeError(`${what}: invalid alpha ${String(alpha)} (must be in [0, 1])`);
}

export class Lookahead implements OptimizerLike {
  k: number;
  alpha: number;
  /** Inner steps taken so far. */
  private stepCount = 0;
  /** Slow weights by parameter, copied from each parameter at its first step. */
  private slow = new Map<Tensor, Tensor>();

  constructor(readonly inner: OptimizerLike, { k = 5, alpha = 0.5 }: Partial<LookaheadOptions> = {}) {
    if (!inner || typeof inner.step !== 'function' || !Array.isArray(inner.paramGroups)) throw new TypeError('Lookahead: expected an optimizer to wrap');
    checkOptions(k, alpha, 'Lookahead');
    this.k = k;
    this.alpha = alpha;
  }

  /** The inner optimizer's groups (schedulers set their lr). */
  get paramGroups(): OptimizerLike['paramGroups'] {
    return this.inner.paramGroups;
  }

  private params(): Tensor[] {
    return this.inner.paramGroups.flatMap((g) => g.params);
  }

  step(): void {
    noGrad(() => {
      for (const p of this.params()) if (!this.slow.has(p)) this.slow.set(p, p.clone().keep());
    });
    this.inner.step();
    this.stepCount++;
    if (this.stepCount % this.k !== 0) return;
    noGrad(() => {
      for (const [p, slow] of this.slow) {
        tidy(() => {
          slow.add_(p.sub(slow), { alpha: this.alpha });
          p.copy_(slow);
        });
      }
    });
  }

  zeroGrad(opts?: { setToNone?: boolean }): void {
    this.inner.zeroGrad(opts);
  }

  /** The inner optimizer's state dict, with each parameter's `slow_buffer` and `lookahead: { k, alpha, step }`. */
  stateDict(): OptimizerStateDict {
    const sd = this.inner.stateDict();
    noGrad(() => {
      this.params().forEach((p, i) => {
        const slow = this.slow.get(p);
        if (slow) sd.state[i] = { ...sd.state[i], slow_buffer: slow.clone() };
      });
    });
    return { ...sd, lookahead: { k: this.k, alpha: this.alpha, step: this.stepCount } };
  }

  loadStateDict(sd: OptimizerStateDict): void {
    const what = 'Lookahead.loadStateDict';
    const la = sd?.lookahead;
    if (!la || typeof la !== 'object') throw new Error(`${what}: the state dict has no 'lookahead' entry (it was not made by Lookahead.stateDict())`);
    checkOptions(la.k, la.alpha, what);
    if (!Number.isInteger(la.step) || la.step < 0) throw new RangeError(`${what}: invalid step ${String(la.step)}`);
    if (sd.state === null || typeof sd.state !== 'object') throw new TypeError(`${what}: expected { state, paramGroups } as made by stateDict()`);
    // Split the slow weights off; the inner optimizer checks and loads the rest.
    const innerState: Record<number, ParamState> = {};
    const slowSaved = new Map<number, unknown>();
    for (const [key, s] of Object.entries(sd.state)) {
      const { slow_buffer: slow, ...rest } = s ?? {};
      if (slow !== undefined) slowSaved.set(Number(key), slow);
      if (Object.keys(rest).length > 0) innerState[Number(key)] = rest;
    }
    const params = this.params();
    const copies = new Map<Tensor, Tensor>();
    const fail = (message: string): never => {
      for (const t of copies.values()) t.dispose();
      throw new Error(`${what}: ${message}`);
    };
    for (const [i, slow] of slowSaved) {
      const p = params[i];
      if (!p) fail(`slow weights for parameter ${i}, but the optimizer has ${params.length} parameters`);
      if (!(slow instanceof Tensor)) fail(`slow_buffer of parameter ${i} is not a Tensor`);
      const t = slow as Tensor;
      if (t.shape.join() !== p.shape.join()) fail(`slow_buffer of parameter ${i} has shape [${t.shape}], the parameter has shape [${p.shape}]`);
      copies.set(p, noGrad(() => t.to({ dtype: p.dtype, device: p.device, copy: true }).keep()));
    }
    try {
      this.inner.loadStateDict({ state: innerState, paramGroups: sd.paramGroups });
    } catch (e) {
      for (const t of copies.values()) t.dispose();
      throw e;
    }
    for (const t of this.slow.values()) t.dispose();
    this.slow = copies;
    this.k = la.k;
    this.alpha = la.alpha;
    this.stepCount = la.step;
  }

  dispose(): void {
    this.inner.dispose();
    for (const t of this.slow.values()) t.dispose();
    this.slow.clear();
  }
}
