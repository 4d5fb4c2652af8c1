// nn.functional pieces that are not a single ATen op.
import * as ops from '../generated/ops.js';
import type { Tensor } from '../tensor.js';

export interface InterpolateOptions {
  /** Output [height, width]; give this or scaleFactor. */
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
}

/** Resize a [N, C, H, W] tensor (torch.nn.functional.interpolate for 2-d). */
export function interpolate(x: Tensor, { size, scaleFactor, mode = 'nearest', alignCorners }: InterpolateOptions): Tensor {
  if ((size === undefined) === (scaleFactor === undefined)) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  if (x.ndim !== 4) throw new TypeError(`interpolate: expected a 4-d [N, C, H, W] tensor, got shape [${x.shape.join(', ')}]`);
  if (mode === 'nearest' && alignCorners !== undefined) throw new TypeError("interpolate: alignCorners only applies to 'bilinear' and 'bicubic'");
  const outSize = size === undefined ? null : typeof size === 'number' ? [size, size] : size;
  const scales = scaleFactor === undefined ? null : typeof scaleFactor === 'number' ? [scaleFactor, scaleFactor] : scaleFactor;
  switch (mode) {
    case 'nearest': return ops.upsampleNearest2d(x, outSize, scales);
    case 'bilinear': return ops.upsampleBilinear2d(x, outSize, alignCorners ?? false, scales);
    case 'bicubic': return ops.upsampleBicubic2d(x, outSize, alignCorners ?? false, scales);
    default: throw new TypeError(`interpolate: unknown mode '${mode}' (nearest, bilinear, bicubic)`);
  }
}
