// The device each worker of a job computes on when told just 'cuda'.
import { native } from '../native.js';
import type { Placement } from './environment.js';

export interface VisibleGpus {
  /** CUDA devices this process sees. */
  count: number;
  /** Whether CUDA_VISIBLE_DEVICES is set (a launcher's or the user's choice of GPUs for this process). */
  chosen: boolean;
}

/**
 * The CUDA device a process of a job uses when told just 'cuda'. `exclusive` (NCCL: one GPU per
 * process) — the GPU of its local rank when the machine's processes see a GPU each; the one GPU
 * a process sees when CUDA_VISIBLE_DEVICES gave it one (srun --gpus-per-task=1, a choice per
 * rank); anything else refused on every process of the machine alike. Not exclusive (Gloo, or
 * prediction workers, which may share a GPU): the local ranks take the visible GPUs in turn.
 */
export function localCudaDevice(placement: Pick<Placement, 'localRank' | 'localWorldSize'>, gpus: VisibleGpus, exclusive: boolean): string {
  const { localRank, localWorldSize } = placement;
  if (gpus.count < 1) throw new Error('distributed: device cuda: this process sees no CUDA device (a CUDA libtorch and CUDA_VISIBLE_DEVICES)');
  if (!exclusive) return `cuda:${localRank % gpus.count}`;
  if (gpus.count === 1 && (gpus.chosen || localWorldSize === 1)) return 'cuda:0';
  const processes = Math.max(localRank + 1, localWorldSize);
  if (processes > gpus.count) {
    throw new Error(`distributed: device cuda: ${processes} processes on this machine but ${gpus.count} CUDA device${gpus.count === 1 ? '' : 's'} visible, and NCCL needs one per process (fewer processes, or CUDA_VISIBLE_DEVICES naming one GPU for each)`);
  }
  return `cuda:${localRank}`;
}

/**
 * A worker's device: plain 'cuda' is chosen by localCudaDevice over the GPUs this process sees;
 * anything else ('cpu', an explicit 'cuda:1') as given.
 */
export function workerDevice(device: string, placement: Pick<Placement, 'localRank' | 'localWorldSize'>, exclusive: boolean): string {
  if (device !== 'cuda') return device;
  const chosen = (process.env.CUDA_VISIBLE_DEVICES ?? '') !== '';
  return localCudaDevice(placement, { count: native.cudaInfo().deviceCount, chosen }, exclusive);
}
