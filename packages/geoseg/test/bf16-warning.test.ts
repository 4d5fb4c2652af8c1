// The warning for bf16 on a CPU that only emulates it: from /proc/cpuinfo's flags (hand-written
// fixtures of a Sapphire Rapids Xeon's and an AVX2 EPYC's lines), and nothing for CUDA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16Warning } from '../src/cli/bf16-warning.js';
import { bf16Emulated } from '../src/cpu-features.js';

const xeon = 'processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n';
const epyc = 'processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n';
const avx512NoBf16 = 'processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n';

test('bf16 is native with AVX512-BF16 or AMX, emulated without; unknown without a flags line', () => {
  assert.equal(bf16Emulated(xeon), false);
  assert.equal(bf16Emulated('flags : amx_bf16\n'), false);
  assert.equal(bf16Emulated(epyc), true);
  assert.equal(bf16Emulated(avx512NoBf16), true);
  assert.equal(bf16Emulated(''), null);
  assert.equal(bf16Emulated(null), null);
});

test('the warning names the option, and never concerns a CUDA device', () => {
  assert.equal(bf16Warning('cuda', '--precision bf16'), null);
  const here = bf16Warning('cpu', '--precision bf16');
  if (bf16Emulated() === true) assert.match(here!, /^geoseg: warning: --precision bf16: this CPU has no native bfloat16 \(AVX512-BF16 or AMX\)/);
  else assert.equal(here, null);
});
