// A CPU without native bfloat16 (AVX512-BF16 or AMX) runs bf16 through oneDNN's emulation, many
// times slower than fp32 (bench peak on an AVX2 EPYC: 3–4 GFLOP/s against 167): a bf16 option
// there is almost certainly a mistake, so the commands say so once, when they end (a command that
// fails prints its one error line alone).
import * as torch from '@geoseg/torch';
import { bf16Emulated } from '../cpu-features.js';

/** The one-line warning for a bf16 run on this device, or null. */
export function bf16Warning(device: string, what: string): string | null {
  if (device !== 'cpu' || bf16Emulated() !== true) return null;
  return `geoseg: warning: ${what}: this CPU has no native bfloat16 (AVX512-BF16 or AMX), so bf16 runs emulated, many times slower than fp32 (use fp32 here)`;
}

const pending: string[] = [];

/** Note the warning for this run (rank 0 alone, of data-parallel workers); main prints it when the command has succeeded. */
export function warnBf16(device: string, what: string): void {
  if (torch.distributed.placementFromEnvironment().rank !== 0) return;
  const w = bf16Warning(device, what);
  if (w) pending.push(w);
}

/** The warnings noted so far (and forget them). */
export function takeWarnings(): string[] {
  return pending.splice(0);
}
