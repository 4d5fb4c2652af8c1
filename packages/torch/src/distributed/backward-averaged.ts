// Data-parallel backward: every parameter's gradient averaged across a process group while
// backward runs, as PyTorch's DDP does it: parameters in reverse order (roughly the order autograd
// produces their gradients) fill buckets; a bucket's all-reduce starts as soon as its last
// gradient is written, in c10d's threads, overlapping the backward of the layers below. The
// hooks and the bucket bookkeeping are native (native/overlapped_backward.cc).
import { native } from '../native.js';
import type { Tensor } from '../tensor.js';
import { BUCKET_BYTES, FIRST_BUCKET_BYTES, bucketsBySize } from './buckets.js';
import type { ProcessGroup } from './process-group.js';
import { DistributedError } from './store.js';

export interface BackwardAveragedOptions {
  /** Bytes per bucket (DDP's bucket_cap_mb: 25 MB) and of the first, which starts earliest (1 MB). */
  bucketBytes?: number;
  firstBucketBytes?: number;
}

export interface BackwardAveragedResult {
  /** Seconds spent after backward waiting for all-reduces still running (the communication not hidden). */
  waitSeconds: number;
  buckets: number;
  /** Buckets whose all-reduce started before backward returned (the rest started after it). */
  startedInBackward: number;
}

/**
 * `loss.backward()` with the gradients of `parameters` (those that require one) averaged across
 * `group`. A parameter the loss does not reach is ready from the start (DDP's
 * find_unused_parameters); one with a gradient on only some ranks gets the average on all (the
 * missing gradients count as zeros); one with a gradient on none stays without. Every rank must
 * call it with the same parameters in the same order.
 */
export function backwardAveraged(group: ProcessGroup, loss: Tensor, parameters: Tensor[], opts: BackwardAveragedOptions = {}): BackwardAveragedResult {
  parameters.forEach((p, i) => {
    if (p.requiresGrad && !p.isLeaf) throw new TypeError(`backwardAveraged: parameters[${i}] is computed from other tensors, not a leaf (pass the parameters themselves)`);
  });
  const trainable = parameters.filter((p) => p.requiresGrad).reverse();
  const buckets = bucketsBySize(trainable, opts.bucketBytes ?? BUCKET_BYTES, opts.firstBucketBytes ?? FIRST_BUCKET_BYTES);
  const handle = group.nativeHandle('backwardAveraged');
  try {
    const r = native.distributed.backwardAveraged!(handle, loss, trainable, buckets);
    return { ...r, buckets: buckets.length };
  } catch (e) {
    throw new DistributedError(`${group.where}: backward: ${(e as Error).message.replace(/^backwardAveraged: /, '')}`);
  }
}
