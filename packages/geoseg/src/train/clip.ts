// Gradient clipping from the run config, between backward and the optimizer step: by value
// (optimizer.clipGradValue), then by the joint L2 norm (optimizer.clipGradNorm), both with
// torch.nn.utils' arithmetic.
import { nn, type Tensor } from '@geoseg/torch';
import type { TrainConfig } from './config.js';

/** Clip the gradients in place; returns their joint L2 norm before norm clipping, or null without it. */
export function clipGradients(params: Tensor[], c: TrainConfig['optimizer']): number | null {
  if (c.clipGradValue !== null) nn.utils.clipGradValue_(params, c.clipGradValue);
  return c.clipGradNorm !== null ? nn.utils.clipGradNorm_(params, c.clipGradNorm).item() : null;
}
