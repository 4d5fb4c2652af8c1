// A c10d process group (Gloo on CPU; NCCL with a CUDA libtorch that has it) and its collectives.
// Collectives run in c10d's own threads; the synchronous forms wait for them, the `async` ones
// return a Work to wait on later (communication overlapping computation).
import { native } from '../native.js';
import type { Tensor } from '../tensor.js';
import { ncclEnvironmentDefaults, placementFromEnvironment, type Placement } from './environment.js';
import { DistributedError, Store } from './store.js';

const d = native.distributed;

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

export interface InitOptions extends Partial<Placement> {
  backend?: Backend;
  /** Milliseconds a rendezvous or collective may wait for a peer (default 30 minutes, as PyTorch's). */
  timeout?: number;
  /** Network interface Gloo binds to (GLOO_SOCKET_IFNAME), or the host name / address to bind. */
  interface?: string;
  hostname?: string;
}

/** The backends this build of the addon has. */
export function availableBackends(): { gloo: boolean; nccl: boolean } {
  return d.backends();
}

/** A pending collective. */
export class Work {
  /** @internal */
  constructor(private readonly handle: unknown, private readonly where: string, private readonly after?: () => void) {}

  /** Wait for it (timeoutMs 0: the group's timeout); errors (a dead peer, a timeout) surface here. */
  wait(timeoutMs = 0): void {
    try {
      d.workWait!(this.handle, timeoutMs);
    } catch (e) {
      throw new DistributedError(`${this.where}: ${reason(e, 'work.wait')}`);
    }
    this.after?.();
  }

  isCompleted(): boolean {
    return d.workIsCompleted!(this.handle);
  }
}


/** In-place collectives write into the tensor's memory: it must be one dense block. */
function contiguous(t: Tensor, what: string): Tensor {
  if (!t.isContiguous()) throw new RangeError(`${what}: the tensor must be contiguous (call .contiguous() and reduce that)`);
  return t;
}

/** The native message without the native prefix the caller's own names again ('allReduce: …'). */
const reason = (e: unknown, what: string) => (e as Error).message.replace(new RegExp(`^${what}: `), '');

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** Processes of the job on this machine. */
  readonly localWorldSize: number;
  readonly backend: Backend;
  /** The rendezvous store, for coordination of one's own (keys under your own prefix). */
  readonly store: Store;
  /** 'rank 1 of 2 (127.0.0.1:29500)', for messages. */
  readonly where: string;
  #handle: unknown;

  /** @internal use initProcessGroup */
  constructor(handle: unknown, store: Store, placement: Placement, backend: Backend) {
    this.#handle = handle;
    this.store = store;
    this.rank = placement.rank;
    this.worldSize = placement.worldSize;
    this.localRank = placement.localRank;
    this.localWorldSize = placement.localWorldSize;
    this.backend = backend;
    this.where = store.where;
  }

  /** @internal the native group, for the binding's own layers (synchronized batch norm, backwardAveraged) */
  nativeHandle(what: string): unknown {
    return this.handle(what);
  }

  private handle(what: string): unknown {
    if (this.#handle === null) throw new DistributedError(`${this.where}: ${what}: the process group was destroyed`);
    return this.#handle;
  }

  private run(what: string, fn: () => unknown, async: boolean, after?: () => void): Work | undefined {
    let result: unknown;
    try {
      result = fn();
    } catch (e) {
      throw new DistributedError(`${this.where}: ${what}: ${reason(e, what)}`);
    }
    if (async) return new Work(result, `${this.where}: ${what}`, after);
    after?.();
    return undefined;
  }

  /**
   * Reduce a tensor in place across ranks (every rank ends with the result). 'avg' is the sum
   * divided by the world size (Gloo has no average of its own). One dense, contiguous tensor (for
   * many, flatten them: c10d's tensor lists are one tensor per device).
   */
  allReduce(tensor: Tensor, opts?: { op?: ReduceOp; async?: false }): void;
  allReduce(tensor: Tensor, opts: { op?: ReduceOp; async: true }): Work;
  allReduce(tensor: Tensor, { op = 'sum', async = false }: { op?: ReduceOp; async?: boolean } = {}): Work | undefined {
    const native = op === 'avg' ? 'sum' : op;
    const after = op === 'avg' ? () => { tensor.div_(this.worldSize); } : undefined;
    return this.run('allReduce', () => d.allReduce!(this.handle('allReduce'), [contiguous(tensor, 'allReduce')], native, !async), async, after);
  }

  /** Every rank's tensor becomes rank `src`'s, in place. */
  broadcast(tensor: Tensor, opts?: { src?: number; async?: false }): void;
  broadcast(tensor: Tensor, opts: { src?: number; async: true }): Work;
  broadcast(tensor: Tensor, { src = 0, async = false }: { src?: number; async?: boolean } = {}): Work | undefined {
    if (!Number.isInteger(src) || src < 0 || src >= this.worldSize) throw new RangeError(`broadcast: src ${src} is not a rank (0..${this.worldSize - 1})`);
    return this.run('broadcast', () => d.broadcast!(this.handle('broadcast'), [contiguous(tensor, 'broadcast')], src, !async), async);
  }

  /** Every rank's tensor (same shape everywhere), in rank order. */
  allGather(tensor: Tensor): Tensor[] {
    const outputs = Array.from({ length: this.worldSize }, () => tensor.detach().clone());
    this.run('allGather', () => d.allGather!(this.handle('allGather'), outputs, tensor, true), false);
    return outputs;
  }

  barrier(): void {
    this.run('barrier', () => d.barrier!(this.handle('barrier'), true), false);
  }

  /** Drop this process's membership (the native group closes once nothing refers to it). */
  destroy(): void {
    this.#handle = null;
  }
}

const DEFAULT_TIMEOUT = 30 * 60 * 1000;

/**
 * Every rank announces itself in the store and waits for the others (PyTorch's store-based
 * barrier): NCCL connects lazily, at the first collective, so without it a rank that never came
 * would surface only there. Names the ranks that did not arrive. Rank 0, which serves the store,
 * waits a second longer, so that the others can still read who is missing when they give up.
 */
function arrive(store: Store, placement: Placement, timeout: number, where: string): void {
  const key = (r: number) => `geoseg/arrived/${r}`;
  const keys = Array.from({ length: placement.worldSize }, (_, r) => key(r));
  store.set(key(placement.rank), '1');
  const waited = placement.rank === 0 ? timeout + 1000 : timeout;
  try {
    store.wait(keys, waited);
  } catch (e) {
    let missing: number[];
    try {
      missing = keys.flatMap((k, r) => (store.check([k]) ? [] : [r]));
    } catch {
      throw new DistributedError(`${where}: the rendezvous store (rank 0 serves it) went away while this rank waited for the others to arrive: ${(e as Error).message.replace(/^.*?: wait: /, '')}`);
    }
    if (missing.length === 0) throw e;
    const ranks = missing.length === 1 ? `rank ${missing[0]}` : `ranks ${missing.join(', ')}`;
    throw new DistributedError(`${where}: ${ranks} did not arrive within ${timeout} ms (each rank must start with the same WORLD_SIZE, MASTER_ADDR and MASTER_PORT)`);
  }
}

/**
 * Join (or, on rank 0, open) a process group: rank 0 serves the TCPStore at masterAddr:masterPort,
 * every rank connects, and the backend connects every pair. Options default from the environment
 * (torchrun's or SLURM's variables; a lone process otherwise). Fails with a DistributedError naming
 * the rank and address when a peer does not arrive within the timeout.
 */
export function initProcessGroup(opts: InitOptions = {}): ProcessGroup {
  const env = placementFromEnvironment();
  const placement: Placement = {
    rank: opts.rank ?? env.rank,
    worldSize: opts.worldSize ?? env.worldSize,
    localRank: opts.localRank ?? env.localRank,
    localWorldSize: opts.localWorldSize ?? env.localWorldSize,
    masterAddr: opts.masterAddr ?? env.masterAddr,
    masterPort: opts.masterPort ?? env.masterPort,
  };
  const backend = opts.backend ?? 'gloo';
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const where = `distributed: rank ${placement.rank} of ${placement.worldSize} (${placement.masterAddr}:${placement.masterPort})`;
  const have = availableBackends();
  if (!have[backend]) {
    throw new DistributedError(`${where}: backend '${backend}' is not in this build (${backend === 'gloo'
      ? 'install libgloo-dev and rebuild: npm run setup' : 'NCCL needs a CUDA libtorch with ProcessGroupNCCL and nccl.h at build time'})`);
  }
  if (placement.rank < 0 || placement.rank >= placement.worldSize) throw new DistributedError(`${where}: the rank must be in 0..${placement.worldSize - 1}`);
  let store: Store;
  try {
    store = new Store(d.tcpStore!(placement.masterAddr, placement.masterPort, placement.rank === 0, placement.worldSize, timeout), where);
  } catch (e) {
    throw new DistributedError(`${where}: the rendezvous store (rank 0 serves it): ${reason(e, 'TCPStore')}`);
  }
  arrive(store, placement, timeout, where);
  if (backend === 'nccl') Object.assign(process.env, ncclEnvironmentDefaults(native.buildInfo().version));
  const iface = opts.interface ?? process.env.GLOO_SOCKET_IFNAME ?? '';
  let handle: unknown;
  try {
    handle = backend === 'nccl'
      ? d.newNccl!(store.handle, placement.rank, placement.worldSize, timeout)
      : d.newGloo!(store.handle, placement.rank, placement.worldSize, timeout, iface, opts.hostname ?? '');
  } catch (e) {
    throw new DistributedError(`${where}: joining the ${backend} group (waited up to ${timeout} ms for all ${placement.worldSize} ranks): ${reason(e, 'initProcessGroup')}`);
  }
  return new ProcessGroup(handle, store, placement, backend);
}
