// This machine's measured peak for the speed tables' "% of peak" (issue 20): libtorch's fp32 and
// bf16 throughput over the kernel shapes the model zoo runs — GEMMs, 3×3 convolutions from 64
// channels at 128² to 512 at 32², a 1×1 bottleneck reduction, a dilated 3×3 (the stride-8
// models), each channels-last and NCHW — best of 5 after a warm-up, FLOPs from torch.countFlops.
// The peak of a dtype is its fastest shape (one shape alone understated it: dilated models ran
// above a peak taken from one GEMM and one convolution).
//
//   node --import tsx bench/run.ts peak
import * as torch from '@geoseg/torch';
import { bf16Emulated } from 'geoseg';

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

interface Shape { kernel: string; make: (dtype: string) => () => void }

const gemm = (m: number, k: number, n: number): Shape => ({
  kernel: `GEMM ${m}×${k}×${n}`,
  make: (dtype) => {
    const a = torch.randn([m, k]).to(dtype as torch.DType), b = torch.randn([k, n]).to(dtype as torch.DType);
    return () => torch.tidy(() => { a.mm(b); });
  },
});

const conv = (n: number, c: number, size: number, out: number, kernel: number, dilation: number, channelsLast: boolean): Shape => ({
  kernel: `conv ${kernel}×${kernel}${dilation > 1 ? ` dilation ${dilation}` : ''} ${n}×${c}×${size}² → ${out}${channelsLast ? '' : ' (NCHW)'}`,
  make: (dtype) => {
    const format = { memoryFormat: channelsLast ? 'channelsLast' as const : 'contiguous' as const };
    const x = torch.randn([n, c, size, size]).to(dtype as torch.DType).contiguous(format);
    const w = torch.randn([out, c, kernel, kernel]).mul(0.02).to(dtype as torch.DType).contiguous(format);
    const padding = dilation * ((kernel - 1) / 2);
    return () => torch.tidy(() => { torch.conv2d(x, w, null, 1, padding, dilation); });
  },
});

const convs = (cl: boolean): Shape[] => [
  conv(8, 256, 64, 256, 3, 1, cl), conv(8, 64, 128, 64, 3, 1, cl), conv(8, 128, 128, 128, 3, 1, cl),
  conv(8, 512, 32, 512, 3, 1, cl), conv(8, 1024, 64, 256, 1, 1, cl), conv(4, 512, 64, 512, 3, 2, cl),
];
const GEMMS = [gemm(2048, 2048, 2048), gemm(4096, 1024, 4096)];
const CHANNELS_LAST = convs(true);
const SHAPES: Shape[] = [...GEMMS, ...CHANNELS_LAST, ...convs(false)];

/**
 * bf16 runs channels-last only (geoseg's bf16 paths are; NCHW bf16 takes slow reference kernels),
 * and on a CPU without native bf16 only the first GEMM and convolution, the first bench peak's
 * pair (emulated, the whole set takes a quarter of an hour and says nothing a user of bf16 needs).
 */
function bf16Shapes(): Shape[] {
  return bf16Emulated() === false ? [...GEMMS, ...CHANNELS_LAST] : [GEMMS[0]!, CHANNELS_LAST[0]!];
}

export function measurePeak(threads: number): Peak {
  torch.setNumThreads(threads);
  const rows: PeakRow[] = [];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const shape of dtype === 'float32' ? SHAPES : bf16Shapes()) {
      torch.tidy(() => {
        const fn = shape.make(dtype);
        const flops = torch.countFlops(fn).total;
        const ms = best(fn);
        const row = { kernel: shape.kernel, dtype, ms, gflops: flops / (ms * 1e6) };
        rows.push(row);
        console.log(`peak ${row.kernel} ${row.dtype}: ${row.ms.toFixed(1)} ms, ${row.gflops.toFixed(0)} GFLOP/s`);
      });
    }
  }
  const top = (d: string) => Math.max(...rows.filter((r) => r.dtype === d).map((r) => r.gflops));
  const peak = { rows, fp32: top('float32'), bf16: top('bfloat16') };
  console.log(`measured peak (${threads} threads): fp32 ${peak.fp32.toFixed(0)} GFLOP/s, bf16 ${peak.bf16.toFixed(0)} GFLOP/s`);
  return peak;
}
