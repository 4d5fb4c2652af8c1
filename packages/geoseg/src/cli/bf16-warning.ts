// A CPU without native bfloat16 (AVX512-BF16 or AMX) runs bf16 through oneDNN's emulation, many
// times slower than fp32 (bench peak on an AVX2 EPYC: 3–4 GFLOP/s against 167): a bf16 option
// there is almost certainly a mistake, so the commands say so once, when they end (a command that
// fails prints its one error line alone).
import { readFileSync } from 'node:fs';

/** Whether /proc/cpuinfo's flags (given, or this machine's) lack native bf16; null where unknown. */
export function bf16Emulated(cpuinfo: string | null = readCpuinfo()): boolean | null {
  if (cpuinfo === null || !/^flags\s*:/m.test(cpuinfo)) return null;
  return !/\b(avx512_bf16|amx_bf16)\b/.test(cpuinfo);
}

function readCpuinfo(): string | null {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return null;
  }
}

/** The one-line warning for a bf16 run on this device, or null. */
export function bf16Warning(device: string, what: string): string | null {
  if (device !== 'cpu' || bf16Emulated() !== true) return null;
  return `geoseg: warning: ${what}: this CPU has no native bfloat16 (AVX512-BF16 or AMX), so bf16 runs emulated, many times slower than fp32 (use fp32 here)`;
}

const pending: string[] = [];

/** Note the warning for this run; main prints it when the command has succeeded. */
export function warnBf16(device: string, what: string): void {
  const w = bf16Warning(device, what);
  if (w) pending.push(w);
}

/** The warnings noted so far (and forget them). */
export function takeWarnings(): string[] {
  return pending.splice(0);
}
