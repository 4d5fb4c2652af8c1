// c10d's TCPStore: the key/value server rank 0 runs and every rank connects to, for the process
// group's rendezvous and for small coordination of one's own (a work queue, a flag).
import { native } from '../native.js';

const d = native.distributed;

export class Store {
  /** @internal the native handle */
  constructor(readonly handle: unknown, readonly where: string) {}

  private call<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new DistributedError(`${this.where}: ${what}: ${(e as Error).message}`);
    }
  }

  /** The port it listens on (useful after asking for port 0). */
  get port(): number {
    return d.storePort!(this.handle);
  }

  set(key: string, value: string | Uint8Array): void {
    const buf = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.call('set', () => d.storeSet!(this.handle, key, buf));
  }

  /** The value of key, waiting (up to the store's timeout) until some rank sets it. */
  get(key: string): Buffer {
    return this.call('get', () => d.storeGet!(this.handle, key));
  }

  getString(key: string): string {
    return this.get(key).toString('utf8');
  }

  /** Add to an integer counter (created at 0) atomically; returns the new value. */
  add(key: string, by: number): number {
    return this.call('add', () => d.storeAdd!(this.handle, key, by));
  }

  /** Whether every key is set (without waiting). */
  check(keys: string[]): boolean {
    return this.call('check', () => d.storeCheck!(this.handle, keys));
  }

  /** Wait until every key is set, or fail after timeoutMs. */
  wait(keys: string[], timeoutMs: number): void {
    this.call('wait', () => d.storeWait!(this.handle, keys, timeoutMs));
  }

  delete(key: string): boolean {
    return this.call('delete', () => d.storeDelete!(this.handle, key));
  }
}

/** A distributed operation that failed: names the rank and the rendezvous address. */
export class DistributedError extends Error {
  override name = 'DistributedError';
}
