// The device each worker of a job computes on when told just 'cuda'.
import { native } from '../native.js';
import type { Placement } from './environment.js';

/**
 * The CUDA device a process of a job uses when told just 'cuda': the GPU of its local rank when
 * every local rank can see its own (torchrun, or srun with all of the node's GPUs visible), the one
 * visible GPU when the launcher gave each process exactly one (srun --gpus-per-task=1,
 * CUDA_VISIBLE_DEVICES per rank).
 */
export function localCudaDevice(placement: Pick<Placement, 'localRank' | 'localWorldSize'>, visibleDevices: number): string {
  const { localRank, localWorldSize } = placement;
  if (visibleDevices < 1) throw new Error('distributed: device cuda: this process sees no CUDA device (a CUDA libtorch and CUDA_VISIBLE_DEVICES)');
  if (visibleDevices === 1) return 'cuda:0';
  if (localRank >= visibleDevices) {
    throw new Error(`distributed: device cuda: ${localWorldSize} processes on this machine but ${visibleDevices} CUDA devices visible (one per process: fewer processes, or a GPU each)`);
  }
  return `cuda:${localRank}`;
}

/**
 * A worker's device: plain 'cuda' is its local rank's GPU (localCudaDevice, over the devices this
 * process sees); anything else ('cpu', an explicit 'cuda:1') as given.
 */
export function workerDevice(device: string, placement: Pick<Placement, 'localRank' | 'localWorldSize'>): string {
  return device === 'cuda' ? localCudaDevice(placement, native.cudaInfo().deviceCount) : device;
}
