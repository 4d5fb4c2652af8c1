// Data-parallel training on a c10d process group, with PyTorch DDP's semantics: every rank starts
// from rank 0's parameters and buffers, computes the gradients of its own slice of the global
// batch, and the gradients are averaged across ranks during backward (buckets of about 25 MB, the
// first 1 MB, each one flat all-reduce started as soon as its gradients are written, overlapping
// the rest of backward: torch.distributed.backwardAveraged) before the optimizer steps, so every
// rank takes the same step. Also the per-iteration agreement a trainer needs across ranks: the
// mean loss (logged and checked for NaN everywhere) and whether any rank was asked to stop.
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

export class DataParallel {
  /**
   * Seconds spent in collectives, for the log: waiting for the gradient all-reduces still running
   * after backward (the communication backward did not hide), and the loss agreement.
   */
  communicationSeconds = 0;
  #shared = 0;

  /**
   * overlap: false reduces every gradient in one bucket, started when backward writes the last
   * one. device: this worker's, where the small agreement tensors go too (NCCL reduces only
   * CUDA tensors).
   */
  constructor(readonly group: ProcessGroup, private readonly overlap = true, readonly device = 'cpu') {}

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

  /**
   * Rank 0's parameters and buffers on every rank, in place: one flat broadcast per bucket (c10d's
   * collectives take one tensor; a list is one per device), all in flight at once.
   */
  broadcastState(model: nn.Module): void {
    const tensors = [...model.parameters(), ...model.buffers()];
    torch.noGrad(() => torch.tidy(() => {
      const pending = torch.distributed.bucketsBySize(tensors).map((indices) => {
        const bucket = indices.map((i) => tensors[i]!);
        const flat = torch.cat(bucket.map((t) => t.reshape([-1])));
        return { bucket, flat, work: this.group.broadcast(flat, { src: 0, async: true }) };
      });
      for (const { bucket, flat, work } of pending) {
        work.wait();
        let offset = 0;
        for (const t of bucket) {
          const n = t.numel();
          t.copy_(flat.narrow(0, offset, n).view(t.shape));
          offset += n;
        }
      }
    }));
  }

  /**
   * `objective.backward()` with every gradient averaged across ranks (a parameter without a
   * gradient on some ranks gets the average with zeros for them; one without on all stays without).
   */
  backward(objective: Tensor, parameters: Tensor[]): void {
    const buckets = this.overlap ? {} : { bucketBytes: Infinity, firstBucketBytes: Infinity }; // one bucket: starts with the last gradient
    this.communicationSeconds += torch.distributed.backwardAveraged(this.group, objective, parameters, buckets).waitSeconds;
  }

  /** The ranks' mean loss, and whether any rank wants to stop (one small all-reduce). */
  agree(loss: number, stop: boolean): { loss: number; stop: boolean } {
    return this.timed(() => torch.tidy(() => {
      const t = torch.tensor([loss, stop ? 1 : 0], { dtype: 'float64' }).to(this.device as torch.Device);
      this.group.allReduce(t, { op: 'sum' });
      const [sum, stops] = t.cpu().data() as Float64Array;
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
