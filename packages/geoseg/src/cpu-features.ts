// What this machine's CPU computes natively, from /proc/cpuinfo's flags (Linux).
import { readFileSync } from 'node:fs';

/**
 * Whether the CPU lacks native bfloat16 (AVX512-BF16 or AMX), so oneDNN emulates bf16 many times
 * slower than fp32; null where unknown (no /proc/cpuinfo, or no flags in it). `cpuinfo`: the
 * file's text, for tests; this machine's by default.
 */
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
