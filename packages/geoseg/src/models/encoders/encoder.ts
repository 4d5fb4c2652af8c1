// What every encoder is: a module returning a feature pyramid.
import { nn, type Tensor } from '@geoseg/torch';

/** Output stride of the deepest features: 32 is plain; 16 and 8 replace strides by dilation. */
export type OutputStride = 8 | 16 | 32;

export interface EncoderOptions {
  /** Input bands (3 for RGB; any count works). */
  inChannels?: number;
  outputStride?: OutputStride;
}

export abstract class Encoder extends nn.Module {
  /** Channels of the five feature maps, at nominal strides 2, 4, 8, 16, 32. */
  abstract readonly channels: readonly number[];
  abstract readonly outputStride: OutputStride;
  /** Name of the first convolution's weight, whose input channels follow the band count. */
  abstract readonly firstConv: string;
  /** Key prefixes of its classification checkpoints that are not part of the encoder (the classifier). */
  readonly classifierPrefixes: readonly string[] = ['fc.', 'classifier.'];
  /** Input bands the first convolution takes. */
  abstract readonly inChannels: number;

  /** A checkpoint's state dict in this encoder's names (DenseNet renames torchvision's legacy ones). */
  checkpointKeys<T>(state: Record<string, T>): Record<string, T> {
    return state;
  }

  /** Features at nominal strides [2, 4, 8, 16, 32] (deeper ones stay at the output stride). */
  abstract override forward(x: Tensor): Tensor[];
}

/** Per-stage dilation for a backbone with 4 downsampling stages after the stem (strides 4→32). */
export function stageDilations(outputStride: OutputStride): { strides: number[]; dilations: number[] } {
  switch (outputStride) {
    case 32: return { strides: [1, 2, 2, 2], dilations: [1, 1, 1, 1] };
    case 16: return { strides: [1, 2, 2, 1], dilations: [1, 1, 1, 2] };
    case 8: return { strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4] };
  }
}
