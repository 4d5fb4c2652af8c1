// Loading pretrained (e.g. torchvision) weights into an encoder, whatever its band count.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import type { Encoder } from './encoders/encoder.js';

export interface EncoderWeightsOptions {
  /** Key prefixes of a classification checkpoint that an encoder has no use for. */
  dropPrefixes?: string[];
  strict?: boolean;
}

/**
 * Copy a state dict into an encoder. Classifier keys (`fc.`, `classifier.`) are dropped. When
 * the checkpoint's first convolution takes 3 bands and the encoder another count, the kernel is
 * adapted: the RGB kernels are kept, each extra band gets their mean, and everything is scaled
 * by 3/bands so the layer's response to an image of constant brightness is unchanged.
 */
export function loadEncoderWeights(encoder: Encoder, state: Record<string, Tensor>, { dropPrefixes = [...encoder.classifierPrefixes], strict = true }: EncoderWeightsOptions = {}) {
  return torch.tidy(() => {
    const dict: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(encoder.checkpointKeys(state))) if (!dropPrefixes.some((p) => k.startsWith(p))) dict[k] = v;
    const first = dict[encoder.firstConv];
    const bands = encoder.inChannels;
    if (first && first.shape[1] !== bands) dict[encoder.firstConv] = adaptFirstConv(first, bands);
    return encoder.loadStateDict(dict, { strict });
  });
}

/** A first-conv kernel [out, inBands, k, k] turned into one for `bands` input bands. */
export function adaptFirstConv(weight: Tensor, bands: number): Tensor {
  const inBands = weight.shape[1];
  if (bands === inBands) return weight;
  if (bands < inBands) return weight.narrow(1, 0, bands).mul(inBands / bands);
  const mean = weight.mean([1], true);
  const extra = mean.expand([weight.shape[0], bands - inBands, weight.shape[2], weight.shape[3]]);
  return torch.cat([weight, extra], 1).mul(inBands / bands);
}
