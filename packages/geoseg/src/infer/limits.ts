// Parameters that would make a prediction absurd are refused before any work, with the reason:
// an overlap that predicts every pixel hundreds of times or more, a window (or a batch of them, or
// the rows carried between window rows of a very wide scene) that cannot fit in memory.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { GeosegError } from '../errors.js';

/** The largest overlap: 0.9 already predicts every pixel about 100 times. */
export const MAX_OVERLAP = 0.9;

/**
 * float32 values per window pixel a model holds at its peak in inference, at least (UNet-ResNet18
 * measures about 100: 64-channel stem features at half resolution, decoder features, the skips).
 * A lower bound: only what surely cannot fit is refused.
 */
const ACTIVATIONS_PER_PIXEL = 64;

export function checkWindowOptions(window: number, overlap: number, batch: number): void {
  if (!Number.isInteger(window) || window < 32 || window % 32 !== 0) throw new GeosegError(`--window: ${window} is not a multiple of 32 (e.g. 256, 512, 1024)`);
  if (!(overlap >= 0 && overlap < 1)) throw new GeosegError(`--overlap: ${overlap} is not a fraction in [0, 1)`);
  if (!Number.isInteger(batch) || batch < 1) throw new GeosegError(`--batch: ${batch} is not a positive integer`);
}

export interface Plan {
  width: number;
  height: number;
  window: number;
  overlap: number;
  /** Window starts along each axis. */
  xs: number[];
  ys: number[];
  batch: number;
  bands: number;
  /** Channels of the blending buffers (classes, plus one for nodata). */
  channels: number;
  /** Bytes per pixel of the finished rows kept until their chunk is written (class, confidence, probabilities). */
  outputBytes: number;
}

const gb = (bytes: number) => `${bytes < 10 * 2 ** 30 ? (bytes / 2 ** 30).toFixed(1) : Math.round(bytes / 2 ** 30).toLocaleString('en-US')} GB`;
const count = (n: number) => n.toLocaleString('en-US');

/** Refuses an overlap that multiplies the work absurdly and a plan that cannot fit in memory. */
export function checkPlan(p: Plan, memory = memoryLimit()): void {
  const windows = p.xs.length * p.ys.length;
  if (p.overlap > MAX_OVERLAP) {
    const times = Math.round((windows * p.window * p.window) / (Math.max(p.width, p.window) * Math.max(p.height, p.window)));
    throw new GeosegError(`--overlap: ${p.overlap} is more than ${MAX_OVERLAP}: ${count(windows)} windows of ${p.window}² for this ${p.width} × ${p.height} scene, every pixel predicted about ${count(times)} times`);
  }
  const S = p.window;
  const batch = Math.min(p.batch, p.xs.length); // a batch never spans two window rows
  const perBatch = (b: number) => b * S * S * 4 * (2 * p.bands + 3 * p.channels + ACTIVATIONS_PER_PIXEL);
  const span = p.xs[Math.min(batch, p.xs.length) - 1] + S - p.xs[0];
  const carryRows = Math.max(1, ...p.ys.slice(1).map((y1, r) => p.ys[r] + S - y1));
  const buffers = p.channels * S * span * 4 + p.channels * carryRows * Math.max(p.width, S) * 4 + S * p.width * p.outputBytes;
  const need = perBatch(batch) + buffers;
  if (need <= memory) return;
  const where = `this machine has ${gb(memory)}`;
  if (batch > 1 && perBatch(1) + buffers <= memory) {
    throw new GeosegError(`--batch: ${p.batch} needs at least ${gb(need)} of memory with windows of ${S}² (${where}); use a smaller --batch`);
  }
  throw new GeosegError(`--window: ${S} needs at least ${gb(perBatch(1) + buffers)} of memory for a ${count(p.width)}-pixel-wide scene (${where}); use a smaller --window`);
}

/** Physical memory, or the cgroup's limit when a container has a lower one. */
export function memoryLimit(): number {
  let limit = totalmem();
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const v = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(v) && v > 0) limit = Math.min(limit, v);
    } catch { /* no such limit */ }
  }
  return limit;
}
