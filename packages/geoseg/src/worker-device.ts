// The device one worker of several computes on, with a bad choice as a one-line error naming
// the option (train.device, --device) it came from.
import * as torch from '@geoseg/torch';
import { GeosegError } from './errors.js';

/** torch.distributed.workerDevice; `exclusive`: a GPU per process (NCCL). */
export function workerDeviceFor(device: string, group: torch.distributed.ProcessGroup, exclusive: boolean, field: string): string {
  try {
    return torch.distributed.workerDevice(device, group, exclusive);
  } catch (e) {
    throw new GeosegError(`${field}: ${(e as Error).message.replace(/^distributed: device cuda: /, '')}`);
  }
}
