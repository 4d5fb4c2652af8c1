// torch.distributed: c10d's process groups and TCPStore.
export { initProcessGroup, availableBackends, ProcessGroup, Work, type Backend, type InitOptions, type ReduceOp } from './process-group.js';
export { Store, DistributedError } from './store.js';
export { placementFromEnvironment, firstSlurmHost, ncclEnvironmentDefaults, type Placement } from './environment.js';
export { localCudaDevice, workerDevice, type VisibleGpus } from './worker-device.js';
export { convertSyncBatchNorm } from './sync-batch-norm.js';
export { backwardAveraged, type BackwardAveragedOptions, type BackwardAveragedResult } from './backward-averaged.js';
export { bucketsBySize, BUCKET_BYTES, FIRST_BUCKET_BYTES } from './buckets.js';
