// The optimizer base: parameter groups with per-group options, per-parameter state, and state
// dicts in PyTorch's layout (parameters numbered across groups in order, state by that number).
import { noGrad } from '../autograd.js';
import { tidy } from '../memory.js';
import { Tensor } from '../tensor.js';

/** One parameter's state: tensors (momentum buffers, moment estimates) and numbers (step). */
export type ParamState = Record<string, Tensor | number>;

/** A parameter group: its tensors and its options (every option filled in from the defaults). */
export type ParamGroup<O> = O & { params: Tensor[] };

/** What a constructor takes: tensors, or groups of tensors each with any options overridden. */
export type Params<O> = Tensor[] | Array<Partial<O> & { params: Tensor[] }>;

/**
 * An optimizer's state as plain data, PyTorch's `optimizer.state_dict()`: parameters are numbered
 * 0, 1, … across the groups in order; `state[i]` holds parameter i's state under PyTorch's names
 * (`momentum_buffer`, `step`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`); each group lists its
 * options (camelCase) and its parameters' numbers. The tensors are copies owned by the caller.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<{ params: number[]; [option: string]: unknown }>;
  /** Lookahead's own state (see Lookahead). */
  lookahead?: { k: number; alpha: number; step: number };
}

/** What schedulers and wrappers (Lookahead) need from an optimizer. */
export interface OptimizerLike {
  readonly paramGroups: Array<{ params: Tensor[]; lr: number }>;
  step(): void;
  zeroGrad(opts?: { setToNone?: boolean }): void;
  stateDict(): OptimizerStateDict;
  loadStateDict(sd: OptimizerStateDict): void;
  /** Free the state tensors now (the optimizer starts from scratch if stepped again). */
  dispose(): void;
}

/** A default of `undefined` marks a required option (SGD's lr, as in PyTorch). */
export type Defaults<O> = { [K in keyof O]: O[K] | undefined };

/** Copy a state's tensors (and numbers) so that caller and optimizer never share a tensor. */
function copyState(s: ParamState): ParamState {
  const out: ParamState = {};
  for (const [k, v] of Object.entries(s)) out[k] = v instanceof Tensor ? v.clone() : v;
  return out;
}

function disposeState(s: ParamState): void {
  for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Subclasses give their option defaults, validate options, name the state a parameter has once
 * stepped, and update one parameter in place. step() calls `update` under noGrad, inside a
 * tidy() per parameter, so the update's temporaries are freed at once; tensors an update stores
 * in the state must be `.keep()`-ed.
 */
export abstract class Optimizer<O extends { lr: number }> implements OptimizerLike {
  readonly paramGroups: ParamGroup<O>[] = [];
  /** The options groups start from (constructor options over the optimizer's own defaults). */
  readonly defaults: Defaults<O>;
  protected readonly state = new Map<Tensor, ParamState>();

  protected constructor(readonly name: string, params: Params<O>, builtins: Defaults<O>, options: Partial<O>) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${name}: options must be an object, got ${options === null ? 'null' : typeof options}`);
    this.checkKeys(options, builtins, 'options');
    const defaults = { ...builtins };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (defaults as Record<string, unknown>)[k] = v;
    this.defaults = defaults;
    if (!Array.isArray(params)) throw new TypeError(`${name}: expected an array of tensors or of parameter groups, got ${params === null ? 'null' : typeof params}`);
    if (params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    const groups = (params[0] instanceof Tensor ? [{ params }] : params) as Array<Partial<O> & { params: Tensor[] }>;
    for (const g of groups) this.addParamGroup(g);
  }

  /** Update one parameter in place from its gradient (called under noGrad, inside tidy). */
  protected abstract update(param: Tensor, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;
  /** What is wrong with a group's options, or undefined. */
  protected abstract validate(options: O): string | undefined;
  /** The state a parameter has once stepped, by name (to validate loaded state). */
  protected abstract stateNames(options: O): string[];

  /** Add a group of parameters (PyTorch's `add_param_group`), e.g. when unfreezing an encoder. */
  addParamGroup(group: Partial<O> & { params: Tensor[] }): void {
    const where = `parameter group ${this.paramGroups.length}`;
    if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
      throw new TypeError(`${this.name}: ${where} must be an object with a params array of tensors`);
    }
    this.checkKeys(group, this.defaults, where);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    group.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${this.name}: ${where}: params[${i}] is not a Tensor`);
      if (p.isDisposed) throw new Error(`${this.name}: ${where}: params[${i}] was disposed`);
      if (!p.isLeaf) throw new Error(`${this.name}: ${where}: params[${i}] is not a leaf tensor (it was computed from others); optimize the tensors it came from`);
      if (seen.has(p)) throw new Error(`${this.name}: ${where}: params[${i}] appears more than once across the parameter groups`);
      seen.add(p);
    });
    // Copies, so that groups never share an options array (betas).
    const full = structuredClone(this.defaults) as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) if (v !== undefined && k !== 'params') full[k] = structuredClone(v);
    full.params = [...group.params];
    for (const [k, v] of Object.entries(full)) {
      if (v === undefined) throw new Error(`${this.name}: ${k} is required (pass it in the options or in every parameter group)`);
    }
    this.check(full as ParamGroup<O>, where);
    this.paramGroups.push(full as ParamGroup<O>);
  }

  /** One optimization step from the gradients in `param.grad` (parameters without one are skipped). */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          tidy(() => {
            const grad = p.grad;
            if (grad === null) return;
            let s = this.state.get(p);
            if (!s) this.state.set(p, (s = {}));
            this.update(p, grad, group, s);
          });
        }
      }
    });
  }

  /** Clear the gradients: set them to null (default), or fill them with zeros. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) {
          p.grad = null;
          continue;
        }
        noGrad(() => tidy(() => {
          const g = p.grad;
          if (g === null) return;
          // As PyTorch: a gradient made with createGraph is cut from its graph first.
          if (g.gradFn !== null) g.detach_();
          else if (g.requiresGrad) g.requiresGrad = false;
          g.zero_();
        }));
      }
    }
  }

  stateDict(): OptimizerStateDict {
    return noGrad(() => {
      const state: Record<number, ParamState> = {};
      const paramGroups: OptimizerStateDict['paramGroups'] = [];
      let index = 0;
      for (const { params, ...options } of this.paramGroups) {
        const ids: number[] = [];
        for (const p of params) {
          const s = this.state.get(p);
          if (s && Object.keys(s).length > 0) state[index] = copyState(s);
          ids.push(index++);
        }
        paramGroups.push({ ...structuredClone(options), params: ids });
      }
      return { state, paramGroups };
    });
  }

  /**
   * Restore a stateDict(): group options (lr included) and parameter state, copied to each
   * parameter's dtype and device. Checks that groups, parameter counts, state names and shapes
   * match before changing anything.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const what = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || sd.state === null || typeof sd.state !== 'object') {
      throw new TypeError(`${what}: expected { state, paramGroups } as made by stateDict()`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${what}: the state dict has ${sd.paramGroups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    // New group options, and which parameter each saved number refers to.
    const byId = new Map<number, { param: Tensor; options: O }>();
    const groups = sd.paramGroups.map((saved, i) => {
      const current = this.paramGroups[i];
      const where = `parameter group ${i}`;
      if (!Array.isArray(saved.params) || saved.params.length !== current.params.length) {
        throw new Error(`${what}: ${where} has ${Array.isArray(saved.params) ? saved.params.length : 'no'} parameters in the state dict, ${current.params.length} in this optimizer`);
      }
      const { params: ids, ...options } = saved;
      this.checkKeys(options, this.defaults, `${where} of the state dict (a state dict from another optimizer?)`);
      const group = { ...current, ...structuredClone(options) } as ParamGroup<O>;
      this.check(group, `${where} of the state dict`);
      ids.forEach((id, j) => {
        if (!Number.isInteger(id) || byId.has(id)) throw new Error(`${what}: ${where} lists parameter number ${JSON.stringify(id)}, which is not a new integer`);
        byId.set(id, { param: current.params[j], options: group });
      });
      return group;
    });
    const loaded = this.loadStates(sd.state, byId, what);
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const [p, s] of loaded) this.state.set(p, s);
    groups.forEach((g, i) => Object.assign(this.paramGroups[i], g, { params: this.paramGroups[i].params }));
  }

  /** Free the state tensors now; the optimizer starts afresh if stepped again. */
  dispose(): void {
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
  }

  // Validated copies of the saved states (nothing is kept if any is wrong).
  private loadStates(saved: Record<number, ParamState>, byId: Map<number, { param: Tensor; options: O }>, what: string): Map<Tensor, ParamState> {
    const out = new Map<Tensor, ParamState>();
    try {
      noGrad(() => {
        for (const [key, s] of Object.entries(saved)) {
          const target = byId.get(Number(key));
          if (!target) throw new Error(`${what}: state for parameter ${key}, which no parameter group lists`);
          if (s === null || typeof s !== 'object') throw new TypeError(`${what}: state for parameter ${key} must be an object`);
          const { param, options } = target;
          const names = Object.keys(s).sort();
          const expected = this.stateNames(options).sort();
          if (names.join() !== expected.join()) {
            throw new Error(`${what}: parameter ${key} has state [${names.join(', ')}], ${this.name} expects [${expected.join(', ')}] with these options`);
          }
          const copy: ParamState = {};
          out.set(param, copy);
          for (const [name, v] of Object.entries(s)) {
            if (typeof v === 'number' && Number.isFinite(v)) {
              copy[name] = v;
            } else if (v instanceof Tensor) {
              if (!sameShape(v.shape, param.shape)) throw new Error(`${what}: state '${name}' of parameter ${key} has shape [${v.shape}], the parameter has shape [${param.shape}]`);
              copy[name] = v.to({ dtype: param.dtype, device: param.device, copy: true }).keep();
            } else {
              throw new TypeError(`${what}: state '${name}' of parameter ${key} must be a Tensor or a finite number`);
            }
          }
        }
      });
    } catch (e) {
      for (const s of out.values()) disposeState(s);
      throw e;
    }
    return out;
  }

  private checkKeys(obj: object, known: object, where: string): void {
    for (const k of Object.keys(obj)) {
      if (k !== 'params' && !(k in known)) {
        throw new Error(`${this.name}: ${where} has unknown option '${k}' (options: ${Object.keys(known).join(', ')})`);
      }
    }
  }

  private check(group: O, where: string): void {
    const problem = this.validate(group);
    if (problem) throw new RangeError(`${this.name}: ${problem} (${where})`);
  }
}

// Small checks shared by the optimizers' validate().
export function nonNegative(name: string, v: unknown): string | undefined {
  return typeof v === 'number' && v >= 0 && Number.isFinite(v) ? undefined : `invalid ${name} ${String(v)} (must be a finite number >= 0)`;
}

export function isBoolean(name: string, v: unknown): string | undefined {
  return typeof v === 'boolean' ? undefined : `invalid ${name} ${String(v)} (must be true or false)`;
}

export function betasProblem(v: unknown): string | undefined {
  const ok = Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === 'number' && b >= 0 && b < 1);
  return ok ? undefined : `invalid betas ${JSON.stringify(v)} (must be two numbers in [0, 1))`;
}
