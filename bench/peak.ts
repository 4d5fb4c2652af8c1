// This machine's measured peak for the speed tables' "% of peak" (issue 20): libtorch's fp32 and
// bf16 throughput on a large GEMM (2048³) and a large 3×3 convolution (8×256×64² → 256,
// channels-last), best of 5 after a warm-up, FLOPs from torch.countFlops.
//
//   node --import tsx bench/run.ts peak
import * as torch from '@geoseg/torch';

export interface PeakRow { kernel: string; dtype: 'float32' | 'bfloat16'; ms: number; gflops: number }
export interface Peak { rows: PeakRow[]; fp32: number; bf16: number }

function best(fn: () => void, rounds = 5): number {
  fn();
  let min = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min;
}

export function measurePeak(threads: number): Peak {
  torch.setNumThreads(threads);
  const rows: PeakRow[] = [];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    torch.tidy(() => {
      const a = torch.randn([2048, 2048]).to(dtype), b = torch.randn([2048, 2048]).to(dtype);
      const gemm = () => torch.tidy(() => { a.mm(b); });
      const x = torch.randn([8, 256, 64, 64]).to(dtype).contiguous({ memoryFormat: 'channelsLast' });
      const w = torch.randn([256, 256, 3, 3]).mul(0.02).to(dtype).contiguous({ memoryFormat: 'channelsLast' });
      const conv = () => torch.tidy(() => { torch.conv2d(x, w, null, 1, 1); });
      for (const [kernel, fn] of [['GEMM 2048³', gemm], ['conv 3×3 8×256×64² → 256', conv]] as const) {
        const flops = torch.countFlops(fn).total;
        const ms = best(fn);
        rows.push({ kernel, dtype, ms, gflops: flops / (ms * 1e6) });
      }
    });
  }
  const top = (d: string) => Math.max(...rows.filter((r) => r.dtype === d).map((r) => r.gflops));
  const peak = { rows, fp32: top('float32'), bf16: top('bfloat16') };
  for (const r of rows) console.log(`peak ${r.kernel} ${r.dtype}: ${r.ms.toFixed(1)} ms, ${r.gflops.toFixed(0)} GFLOP/s`);
  console.log(`measured peak (${threads} threads): fp32 ${peak.fp32.toFixed(0)} GFLOP/s, bf16 ${peak.bf16.toFixed(0)} GFLOP/s`);
  return peak;
}
