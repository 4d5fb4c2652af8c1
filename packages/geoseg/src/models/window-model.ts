// What prediction and evaluation need of a model: its parameters (for their device), its named
// outputs, and class probabilities from them. A SegmentationModel is one; so is a TorchScript
// model exported from Python (scripted.ts).
import type { Tensor } from '@geoseg/torch';
import type { ModelOutputs } from './model.js';

export interface WindowModel {
  /** False: feed batches in the default layout (a foreign model may view its activations). Default true. */
  readonly channelsLastInputs?: boolean;
  parameters(): Tensor[];
  forwardOutputs(x: Tensor): ModelOutputs;
  probabilities(outputs: ModelOutputs): Tensor;
  predictProbabilities(x: Tensor): Tensor;
  /** Free the weights now (prediction is done with them). */
  dispose(): void;
}
