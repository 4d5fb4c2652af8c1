// Input normalisation of model inputs, the one rule of prediction and evaluation:
// (raw − mean) / std per band, std floored at 1e-6 (a constant band does not divide by zero).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';

export interface Normalization {
  mean: number[];
  std: number[];
}

/** Per-band mean and std as [bands, 1, 1] tensors (they broadcast over [bands, H, W] and [N, bands, H, W]). */
export function normalizationTensors(n: Normalization): { mean: Tensor; std: Tensor } {
  const bands = n.mean.length;
  return {
    mean: torch.tensor(n.mean, { shape: [bands, 1, 1] }),
    std: torch.tensor(n.std.map((s) => Math.max(s, 1e-6)), { shape: [bands, 1, 1] }),
  };
}

/** (raw − mean) / std as float32, for an image [bands, H, W] or a batch [N, bands, H, W]. */
export function normalize(raw: Tensor, n: { mean: Tensor; std: Tensor }): Tensor {
  return raw.to('float32').sub(n.mean).div(n.std);
}
