// tidy(): free every tensor a block made, except what it returns or keeps. Works across
// `await` (scopes follow the async context through AsyncLocalStorage).
import { native } from './native.js';
import { Tensor, kId, kRegistered, openScopes, registerFinalizer, scopeStorage, type Scope } from './tensor.js';

// Tensors reachable from a block's result (arrays, Maps, Sets and plain objects, walked deeply).
function collectTensors(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, seen);
  else if (value instanceof Set) for (const v of value) collectTensors(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, seen);
}

let releaseBuffer = new Float64Array(1024);

function endScope(scope: Scope, result: unknown): void {
  openScopes.count--;
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  let n = 0;
  for (const t of scope.tensors) {
    const id = t[kId];
    if (id < 0) continue; // disposed already
    if (t[kRegistered]) continue; // kept (from any async chain): the garbage collector owns it
    if (survivors.has(t)) {
      // The result leaves this scope: the enclosing scope owns it, or the garbage collector.
      if (scope.parent) scope.parent.tensors.push(t);
      else registerFinalizer(t);
      continue;
    }
    if (n === releaseBuffer.length) {
      const bigger = new Float64Array(n * 2);
      bigger.set(releaseBuffer);
      releaseBuffer = bigger;
    }
    releaseBuffer[n++] = id;
    t[kId] = -1;
  }
  native.releaseMany(releaseBuffer, n);
  scope.tensors.length = 0;
}

/**
 * Run fn and dispose every tensor created inside it, except the tensors in its result (a Tensor,
 * or arrays / plain objects / Maps holding tensors) and those passed to `keep()`. If fn returns
 * a promise, the scope ends when it settles, and tensors made across its `await`s are tracked.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [], parent: scopeStorage.getStore() };
  openScopes.count++;
  let value: T;
  const outer = openScopes.sync;
  openScopes.sync = scope;
  try {
    value = scopeStorage.run(scope, fn);
  } catch (e) {
    endScope(scope, undefined);
    throw e;
  } finally {
    openScopes.sync = outer;
  }
  if (value instanceof Promise) {
    return value.then(
      (v) => { endScope(scope, v); return v; },
      (e) => { endScope(scope, undefined); throw e; },
    ) as T;
  }
  endScope(scope, value);
  return value;
}

/** Keep tensors alive past the end of their tidy() scope. Returns its argument. */
export function keep<T extends Tensor | Tensor[]>(tensors: T): T {
  for (const t of Array.isArray(tensors) ? tensors : [tensors]) t.keep();
  return tensors;
}

/** Dispose tensors (a Tensor, or arrays / plain objects holding tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collectTensors(value, found);
  for (const t of found) t.dispose();
}

export interface MemoryStats {
  /** Tensors held by JS right now (not disposed, not collected). */
  liveTensors: number;
  /** Tensors made since start. */
  createdTensors: number;
  /** CPU bytes of the storages those tensors own, as reported to V8. */
  externalBytes: number;
}

export function memoryStats(): MemoryStats {
  return native.memoryStats();
}
