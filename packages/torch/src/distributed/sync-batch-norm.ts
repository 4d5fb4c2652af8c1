// Synchronized batch norm: every BatchNorm2d of a module normalises, in training, with the
// statistics of the whole batch across a process group (PyTorch's convert_sync_batchnorm; the
// modules and their state dict names stay as they are). The numerics are native/distributed.cc's.
import { BatchNorm2d } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { ProcessGroup } from './process-group.js';

/** Make every BatchNorm2d in `module` synchronize over `group` (null: back to local); returns how many. */
export function convertSyncBatchNorm(module: Module, group: ProcessGroup | null): number {
  let count = 0;
  for (const [, m] of module.namedModules()) {
    if (m instanceof BatchNorm2d) {
      m.syncGroup = group;
      count++;
    }
  }
  return count;
}
