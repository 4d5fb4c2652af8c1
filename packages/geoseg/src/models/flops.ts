// A model's FLOPs for an input size: one eval forward at batch 1, its convolutions and matrix
// products counted at the dispatcher (torch.countFlops), times the batch (every layer's cost is
// linear in it). A training step costs about 3× that (each gradient products as many again),
// the convention the speed tables use; frozen layers cost less.
import * as torch from '@geoseg/torch';
import type { nn } from '@geoseg/torch';

export interface ModelFlops {
  /** One forward pass of the whole batch. */
  forward: number;
  convolution: number;
  matmul: number;
}

/** FLOPs of `model`'s forward on [batch, bands, height, width] (the model is left in eval mode). */
export function modelFlops(model: nn.Module, [batch, bands, height, width]: readonly [number, number, number, number]): ModelFlops {
  model.eval();
  const count = torch.tidy(() => torch.noGrad(() => {
    const { convolution, matmul } = torch.countFlops(() => { model.forward(torch.zeros([1, bands, height, width])); });
    return { convolution, matmul };
  }));
  return { forward: batch * (count.convolution + count.matmul), convolution: batch * count.convolution, matmul: batch * count.matmul };
}

/** FLOPs → GFLOP/s for a duration in milliseconds. */
export function gflopsPerSecond(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
