// Freezing the encoder for the first iterations of a run (train.freezeEncoder): its parameters
// get no gradients, so the optimizer skips them and keeps no state for them until they are
// unfrozen, when they start as fresh parameters (Adam's step count and moments from zero, as in
// PyTorch). Optionally its normalization layers stay in eval mode too (running statistics
// unchanged). The mode follows the iteration number alone, so a resumed run freezes exactly as an
// uninterrupted one.
import type { SegmentationModel } from '../models/index.js';
import type { TrainConfig } from './config.js';

export type FreezeSpec = TrainConfig['train']['freezeEncoder'];

/** Whether iteration k (from 1) runs with the encoder frozen. */
export function encoderFrozenAt(spec: FreezeSpec, k: number): boolean {
  return spec !== null && k <= spec.iterations;
}

/**
 * Set the model up for training iteration k: training mode, the encoder's parameters trainable or
 * not, its layers in eval mode while frozen with normStats. Call before every iteration (an
 * evaluation puts the whole model back in training mode when it ends).
 */
export function setTrainingMode(model: SegmentationModel, spec: FreezeSpec, k: number): void {
  const frozen = encoderFrozenAt(spec, k);
  model.train();
  if (frozen && spec!.normStats) model.encoder.eval();
  if (spec === null) return;
  for (const p of model.encoder.parameters()) if (p.requiresGrad === frozen) p.requiresGrad = !frozen;
}
