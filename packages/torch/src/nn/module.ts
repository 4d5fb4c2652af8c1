// Module: PyTorch's nn.Module for TypeScript. Parameters, buffers and child modules are
// registered by name, so state dicts use PyTorch's dotted names ("layer1.0.conv1.weight") and
// weights move both ways between geoseg and PyTorch.
import { noGrad } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import type { DType, Device } from '../types.js';

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Thrown by loadStateDict with every problem found, not just the first. */
export class StateDictError extends Error {
  constructor(readonly missingKeys: string[], readonly unexpectedKeys: string[], readonly shapeMismatches: string[]) {
    const parts: string[] = [];
    if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
    if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (shapeMismatches.length) parts.push(`shape mismatches: ${shapeMismatches.join('; ')}`);
    super(`loadStateDict: ${parts.join('. ')}`);
    this.name = 'StateDictError';
  }
}

// A module owns its tensors: a tidy() scope that made them (`tidy(() => createModel())`) must not
// free them when it ends. Kept tensors are freed by dispose() or the garbage collector.
function own(t: Tensor | null): Tensor | null {
  if (t && !t.isDisposed) t.keep();
  return t;
}

export abstract class Module {
  training = true;
  readonly #parameters = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #children = new Map<string, Module>();

  abstract forward(...inputs: any[]): any;

  // Registration defines an accessor property, so `this.weight` always reads the registered value.
  #define(name: string, get: () => unknown, set: (v: any) => void): void {
    if (name.includes('.') || name === '') throw new Error(`${this.constructor.name}: invalid name '${name}' (no dots)`);
    Object.defineProperty(this, name, { get, set, enumerable: true, configurable: true });
  }

  /** Register a trainable tensor (made to require grad) under `name`; null for an absent one. */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t && !t.requiresGrad) t.requiresGrad = true;
    this.#parameters.set(name, own(t));
    this.#define(name, () => this.#parameters.get(name), (v) => this.#parameters.set(name, own(v)));
    return t;
  }

  /** Register a state tensor (e.g. BatchNorm running statistics). */
  protected registerBuffer(name: string, t: Tensor | null, { persistent = true } = {}): Tensor | null {
    this.#buffers.set(name, own(t));
    if (!persistent) this.#nonPersistent.add(name);
    this.#define(name, () => this.#buffers.get(name), (v) => this.#buffers.set(name, own(v)));
    return t;
  }

  /** Register a child module; its parameters appear as `name.<its names>`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    this.#define(name, () => this.#children.get(name), (v) => this.#children.set(name, v));
    return m;
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this.#children.entries();
  }

  children(): Module[] {
    return [...this.#children.values()];
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.#children) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.#parameters) {
        if (p && !seen.has(p)) {
          seen.add(p);
          out.push([prefix ? `${prefix}.${name}` : name, p]);
        }
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.#buffers) if (b) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Number of parameter elements (trainable only when asked). */
  numParameters({ trainableOnly = false } = {}): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((s, p) => s + p.numel(), 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clear every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and persistent buffers by PyTorch's dotted names. The tensors are the module's
   * own (not copies): save them, don't dispose them.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m.#parameters) if (p) out[key(name)] = p;
      for (const [name, b] of m.#buffers) if (b && !m.#nonPersistent.has(name)) out[key(name)] = b;
    }
    return out;
  }

  /**
   * Copy values from a state dict (e.g. `torch.load` of a PyTorch checkpoint, or
   * `loadSafetensors`) into this module's tensors, converting dtype if needed. With `strict`
   * (the default) every missing, unexpected and shape-mismatched key is reported in one error
   * and nothing is changed. A batch norm's `num_batches_tracked` may be absent, as PyTorch
   * allows (checkpoints from before it existed, like torchvision's DenseNet files): it keeps its value.
   */
  loadStateDict(dict: Record<string, Tensor>, { strict = true } = {}): LoadResult {
    const own = this.stateDict();
    const optional = (k: string) => k === 'num_batches_tracked' || k.endsWith('.num_batches_tracked');
    const missingKeys = Object.keys(own).filter((k) => !(k in dict) && !optional(k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !(k in own));
    const shapeMismatches: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = dict[k];
      if (!src) continue;
      const a = t.shape.join('x');
      const b = src.shape.join('x');
      if (a !== b) shapeMismatches.push(`${k}: checkpoint [${src.shape.join(', ')}], model [${t.shape.join(', ')}]`);
    }
    if (shapeMismatches.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictError(strict ? missingKeys : [], strict ? unexpectedKeys : [], shapeMismatches);
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (dict[k]) t.copy_(dict[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Move or convert every parameter and buffer (`'cuda'`, `'float64'`, …). Tensors are
   * replaced, so build optimizers after moving the model. Integer buffers keep their dtype.
   */
  to(target: Device | DType): this {
    const isDtype = /^(float|double|half|bfloat16|int|long|short|uint8|bool|complex)/.test(target);
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        for (const [name, p] of m.#parameters) {
          if (!p) continue;
          const converted = p.to(target);
          if (converted.isSame(p)) {
            converted.dispose();
            continue;
          }
          const moved = converted.detach().requiresGrad_(p.requiresGrad);
          converted.dispose();
          p.dispose();
          m.#parameters.set(name, own(moved));
        }
        for (const [name, b] of m.#buffers) {
          if (!b || (isDtype && !b.isFloatingPoint())) continue;
          const moved = b.to(target);
          if (moved.isSame(b)) {
            moved.dispose();
            continue;
          }
          b.dispose();
          m.#buffers.set(name, own(moved));
        }
      }
    });
    return this;
  }

  /** Free every parameter and buffer now (the module is unusable afterwards). */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }

  /** Call fn on this module and every descendant (e.g. custom initialization). */
  apply(fn: (m: Module) => void): this {
    for (const [, m] of this.namedModules()) fn(m);
    return this;
  }
}
