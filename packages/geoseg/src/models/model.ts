// SegmentationModel: an encoder plus a decoder, images [N, bands, H, W] in, logits
// [N, classes, H, W] out.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { InputShapeError } from '../errors.js';
import type { Encoder } from './encoders/encoder.js';

export interface ModelOutput {
  out: Tensor;
  /** Logits of the auxiliary head (PSPNet, when enabled), for an auxiliary loss in training. */
  aux?: Tensor;
}

export abstract class SegmentationModel extends nn.Module {
  abstract readonly encoder: Encoder;
  abstract readonly classes: number;

  /** Logits and, where the architecture has one, the auxiliary head's logits. */
  protected abstract run(x: Tensor): ModelOutput;

  /** Logits at input resolution. */
  forward(x: Tensor): Tensor {
    return this.run(this.checkInput(x)).out;
  }

  /** Logits plus the auxiliary head's logits (in training mode, when the model has one). */
  forwardWithAux(x: Tensor): ModelOutput {
    return this.run(this.checkInput(x));
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
