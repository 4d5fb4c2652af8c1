// Data-parallel training on a c10d process group, with PyTorch DDP's semantics: every rank starts
// from rank 0's parameters and buffers, computes the gradients of its own slice of the global
// batch, and the gradients are averaged across ranks (in buckets of about 25 MB, each bucket one
// flat all-reduce, all in flight at once) before the optimizer steps, so every rank takes the same
// step. Also the per-iteration agreement a trainer needs across ranks: the mean loss (logged and
// checked for NaN everywhere) and whether any rank was asked to stop.
import * as torch from '@geoseg/torch';
import type { distributed, nn, Tensor } from '@geoseg/torch';
import type { TrainConfig } from './config.js';

type ProcessGroup = distributed.ProcessGroup;

/**
 * Why a run config cannot train data-parallel, or null: the ranks must agree on the length, and
 * a time budget is one process's clock, which they would not share.
 */
export function dataParallelLengthIssue(cfg: TrainConfig): string | null {
  return cfg.train.iterations === undefined || cfg.train.minutes !== undefined
    ? 'train.minutes: data-parallel training needs train.iterations alone (a time budget is one process\'s clock, which the workers would not share)'
    : null;
}

const BUCKET_BYTES = 25 * 1024 * 1024; // DDP's bucket_cap_mb
const BYTES: Record<string, number> = { float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, int16: 2, uint8: 1, int8: 1, bool: 1 };

export class DataParallel {
  /** Seconds spent in collectives (waiting for them included), for the log. */
  communicationSeconds = 0;
  #shared = 0;

  constructor(readonly group: ProcessGroup) {}

  private timed<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.communicationSeconds += (performance.now() - t0) / 1000;
    }
  }

  get rank(): number {
    return this.group.rank;
  }

  get ranks(): number {
    return this.group.worldSize;
  }

  /** Rank 0's parameters and buffers on every rank (in place). */
  broadcastState(model: nn.Module): void {
    const tensors = [...model.parameters(), ...model.buffers()];
    this.coalesced(tensors, (flat) => this.group.broadcast(flat, { src: 0, async: true }), () => undefined);
  }

  /** Average every gradient across ranks (parameters without a gradient are left alone). */
  averageGradients(parameters: Tensor[]): void {
    const grads = parameters.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    this.timed(() => this.coalesced(grads, (flat) => this.group.allReduce(flat, { op: 'sum', async: true }), (flat) => flat.div_(this.ranks)));
  }

  /**
   * Run a collective over many tensors as one flat tensor per bucket (c10d's collectives take one
   * tensor; a list is one per device), all buckets in flight at once, then copy the results back.
   */
  private coalesced(tensors: Tensor[], start: (flat: Tensor) => distributed.Work, finish: (flat: Tensor) => void): void {
    torch.noGrad(() => torch.tidy(() => {
      const pending = buckets(tensors).map((bucket) => {
        const flat = torch.cat(bucket.map((t) => t.reshape([-1])));
        return { bucket, flat, work: start(flat) };
      });
      for (const { bucket, flat, work } of pending) {
        work.wait();
        finish(flat);
        let offset = 0;
        for (const t of bucket) {
          const n = t.numel();
          t.copy_(flat.narrow(0, offset, n).view(t.shape));
          offset += n;
        }
      }
    }));
  }

  /** The ranks' mean loss, and whether any rank wants to stop (one small all-reduce). */
  agree(loss: number, stop: boolean): { loss: number; stop: boolean } {
    return this.timed(() => torch.tidy(() => {
      const t = torch.tensor([loss, stop ? 1 : 0], { dtype: 'float64' });
      this.group.allReduce(t, { op: 'sum' });
      const [sum, stops] = t.data() as Float64Array;
      return { loss: sum! / this.ranks, stop: stops! > 0 };
    }));
  }

  /**
   * A number rank 0 computed (a validation score), on every rank. Through the store, polled: the
   * others wait as long as rank 0's validation takes (a collective would time out after the
   * group's timeout); if rank 0 dies, its store goes with it and the poll fails.
   */
  async shareFromMain(value: number): Promise<number> {
    const key = `geoseg/train/share/${this.#shared++}`;
    if (this.rank === 0) {
      this.group.store.set(key, String(value));
      return value;
    }
    while (!this.group.store.check([key])) await new Promise((r) => setTimeout(r, 200));
    return Number(this.group.store.getString(key));
  }
}

/** Tensors grouped by dtype and device into buckets of about BUCKET_BYTES, in order. */
function buckets(tensors: Tensor[]): Tensor[][] {
  const open = new Map<string, { tensors: Tensor[]; bytes: number }>();
  const done: Tensor[][] = [];
  for (const t of tensors) {
    const kind = `${t.dtype}/${t.device}`;
    const bucket = open.get(kind) ?? { tensors: [], bytes: 0 };
    bucket.tensors.push(t);
    bucket.bytes += t.numel() * BYTES[t.dtype]!;
    if (bucket.bytes >= BUCKET_BYTES) {
      done.push(bucket.tensors);
      open.delete(kind);
    } else {
      open.set(kind, bucket);
    }
  }
  for (const b of open.values()) done.push(b.tensors);
  return done;
}
