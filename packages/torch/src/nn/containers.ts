// Containers: Sequential, ModuleList, ModuleDict (children named '0', '1', … or by key).
import { tidy } from '../memory.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export class Sequential extends Module {
  readonly #layers: Module[] = [];

  /** Sequential(a, b, c) names children '0', '1', '2'; Sequential({ conv: a, bn: b }) by key. */
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      for (const [name, m] of Object.entries(first as Record<string, Module>)) this.#layers.push(this.registerModule(name, m));
    } else {
      (modules as Module[]).forEach((m, i) => this.#layers.push(this.registerModule(String(i), m)));
    }
  }

  get length(): number { return this.#layers.length; }
  at(i: number): Module { return this.#layers.at(i)!; }
  [Symbol.iterator](): Iterator<Module> { return this.#layers[Symbol.iterator](); }

  // Each layer runs in its own tidy() scope and each intermediate result is freed once the next
  // layer has used it, so memory peaks like PyTorch's (autograd keeps what backward needs).
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.#layers) {
      const next: Tensor = tidy(() => m.forward(y));
      if (y !== x && next !== y) y.dispose();
      y = next;
    }
    return y;
  }
}

export class ModuleList<M extends Module = Module> extends Module {
  readonly #items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): this {
    this.#items.push(this.registerModule(String(this.#items.length), m));
    return this;
  }

  get length(): number { return this.#items.length; }
  at(i: number): M { return this.#items.at(i)!; }
  [Symbol.iterator](): Iterator<M> { return this.#items[Symbol.iterator](); }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over its modules');
  }
}

export class ModuleDict<M extends Module = Module> extends Module {
  readonly #items = new Map<string, M>();

  constructor(modules: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }

  set(key: string, m: M): this {
    this.#items.set(key, this.registerModule(key, m));
    return this;
  }

  get(key: string): M | undefined { return this.#items.get(key); }
  has(key: string): boolean { return this.#items.has(key); }
  keys(): IterableIterator<string> { return this.#items.keys(); }
  entries(): IterableIterator<[string, M]> { return this.#items.entries(); }

  forward(): never {
    throw new Error('ModuleDict has no forward: look its modules up by key');
  }
}
