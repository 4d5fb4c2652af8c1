// SegmentationModel: an encoder plus a decoder, images [N, bands, H, W] in, logits
// [N, classes, H, W] out.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { InputShapeError } from '../errors.js';
import type { Encoder } from './encoders/encoder.js';

/**
 * A model's named outputs: `out` (the logits at input resolution) and, in training, any others its
 * architecture has (`aux`, deep-supervision levels, …), which its objective supervises.
 */
export interface ModelOutputs {
  out: Tensor;
  [name: string]: Tensor;
}

export abstract class SegmentationModel extends nn.Module {
  abstract readonly encoder: Encoder;
  abstract readonly classes: number;

  /** The named outputs (the ones used only in training appear only in training mode). */
  protected abstract run(x: Tensor): ModelOutputs;

  /** Logits at input resolution. */
  forward(x: Tensor): Tensor {
    return this.run(this.checkInput(x)).out;
  }

  /** Every named output, for the training objective. */
  forwardOutputs(x: Tensor): ModelOutputs {
    return this.run(this.checkInput(x));
  }

  /**
   * Class probabilities [N, classes, H, W] from the outputs: softmax of `out`. An architecture
   * whose outputs combine otherwise (a joint probability, refined logits) overrides this; eval,
   * predict and TTA all go through it.
   */
  probabilities(outputs: ModelOutputs): Tensor {
    return outputs.out.softmax(1);
  }

  /** Class probabilities at input resolution. */
  predictProbabilities(x: Tensor): Tensor {
    return this.probabilities(this.run(this.checkInput(x)));
  }

  protected checkInput(x: Tensor): Tensor {
    const shape = x.shape;
    if (shape.length !== 4) throw new InputShapeError(`${this.constructor.name}: expected input [N, bands, H, W], got shape [${shape.join(', ')}]`);
    const bands = this.encoder.inChannels;
    if (shape[1] !== bands) throw new InputShapeError(`${this.constructor.name}: the model takes ${bands} bands, the input has ${shape[1]}`);
    for (const [axis, size] of [['height', shape[2]], ['width', shape[3]]] as const) {
      if (size % 32 !== 0 || size === 0) {
        throw new InputShapeError(`${this.constructor.name}: input ${axis} ${size} is not a positive multiple of 32 (pad or crop to ${Math.max(32, Math.ceil(size / 32) * 32)})`);
      }
    }
    return x;
  }
}

/**
 * Store the model's 4-D weights channels-last (NHWC): with channels-last inputs, oneDNN
 * convolutions then skip their layout reorders (UNet-ResNet18 inference on CPU: 1.5× faster).
 * For inference; the values are unchanged.
 */
export function useChannelsLast(model: nn.Module): void {
  torch.noGrad(() => {
    for (const t of [...model.parameters(), ...model.buffers()]) {
      if (t.dim() === 4) t.set_(channelsLast(t));
    }
  });
}

/** Undo useChannelsLast (training runs in the default layout). */
export function useContiguousFormat(model: nn.Module): void {
  torch.noGrad(() => {
    for (const t of [...model.parameters(), ...model.buffers()]) if (t.dim() === 4) t.set_(t.contiguous());
  });
}

/** A batch [N, C, H, W] laid out channels-last (a no-op when it already is). */
export function channelsLast(x: Tensor): Tensor {
  return x.contiguous({ memoryFormat: 'channelsLast' });
}
