// An exponential moving average of the weights (train.ema): after every optimizer step,
// average = decay · average + (1 − decay) · weights, for the parameters and the floating-point
// buffers (batch-norm running statistics); integer buffers (batches tracked) are copied. The
// average is a model of its own, validated and checkpointed beside the raw weights
// (`ema.safetensors`), and `geoseg eval`/`predict --weights ema` use it.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { createModel, type ModelConfig, type SegmentationModel } from '../models/index.js';
import { hasAveragedWeights, loadCheckpoint } from '../models/checkpoint.js';

export class WeightAverage {
  readonly #pairs: Array<[average: Tensor, source: Tensor]>;

  /** `average` is a model of the same architecture: it starts as a copy of `source`. */
  constructor(readonly average: SegmentationModel, source: SegmentationModel, readonly decay: number, { copy = true } = {}) {
    const own = new Map(Object.entries(source.stateDict()));
    this.#pairs = Object.entries(average.stateDict()).map(([name, t]) => {
      const s = own.get(name);
      if (!s) throw new Error(`WeightAverage: the source model has no ${name}`);
      return [t, s];
    });
    if (copy) torch.noGrad(() => { for (const [a, s] of this.#pairs) a.copy_(s); });
    average.eval();
  }

  /** One step of the average, after optimizer.step(). */
  update(): void {
    torch.tidy(() => torch.noGrad(() => {
      for (const [a, s] of this.#pairs) {
        if (a.isFloatingPoint()) a.mul_(this.decay).add_(s.mul(1 - this.decay));
        else a.copy_(s);
      }
    }));
  }
}

/**
 * The run's weight average: a copy of `model` at the start, or the average saved in the
 * checkpoint being resumed (a checkpoint without one, from a run that had no train.ema, starts
 * it from the resumed weights).
 */
export function weightAverage(decay: number, model: SegmentationModel, config: ModelConfig, resumedFrom: string | null, device: string): WeightAverage {
  if (resumedFrom && hasAveragedWeights(resumedFrom)) {
    const saved = loadCheckpoint(resumedFrom, { weights: 'ema' }).model;
    if (device !== 'cpu') saved.to(device as torch.Device);
    return new WeightAverage(saved, model, decay, { copy: false });
  }
  const average = createModel(config);
  if (device !== 'cpu') average.to(device as torch.Device);
  return new WeightAverage(average, model, decay);
}
