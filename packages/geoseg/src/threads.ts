// libtorch's intra-op threads: Debian's libtorch starts with one, so geoseg sets the count
// explicitly: the given number, else every core the process may use.
import { availableParallelism } from 'node:os';
import * as torch from '@geoseg/torch';
import { GeosegError } from './errors.js';

export function useThreads(n?: number | null): number {
  const count = n ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1) throw new GeosegError(`threads must be a positive integer, got ${n}`);
  torch.setNumThreads(count);
  return count;
}
