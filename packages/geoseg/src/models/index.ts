// createModel({ arch, encoder, classes, inChannels }) and the table of what exists.
import { ModelConfigError } from '../errors.js';
import { DeepLabV3, DeepLabV3Plus } from './decoders/deeplab.js';
import { FCN } from './decoders/fcn.js';
import { PSPNet } from './decoders/pspnet.js';
import { UNet } from './decoders/unet.js';
import { createEncoder, ENCODERS, type OutputStride } from './encoders/index.js';
import type { SegmentationModel } from './model.js';

export { SegmentationModel, useChannelsLast, useContiguousFormat, channelsLast, type ModelOutput } from './model.js';
export { UNet } from './decoders/unet.js';
export { FCN } from './decoders/fcn.js';
export { DeepLabV3, DeepLabV3Plus, ASPP } from './decoders/deeplab.js';
export { PSPNet } from './decoders/pspnet.js';
export * from './encoders/index.js';
export { loadEncoderWeights, adaptFirstConv } from './weights.js';

export interface ModelConfig {
  arch: string;
  encoder: string;
  classes: number;
  /** Input bands (default 3). */
  inChannels?: number;
  /** Overrides the architecture's default output stride (8 for DeepLabV3 and PSPNet, 16 for DeepLabV3+, 32 otherwise). */
  outputStride?: OutputStride;
  /** UNet: channels of the five decoder blocks, deepest first. */
  decoderChannels?: number[];
  /** DeepLab: ASPP dilation rates. */
  rates?: [number, number, number];
  /** DeepLabV3+: depthwise-separable convolutions in ASPP and decoder. */
  separable?: boolean;
  /** PSPNet: pyramid bins. */
  bins?: number[];
  /** PSPNet: auxiliary head on the stride-16 features. */
  auxHead?: boolean;
}

interface Architecture {
  description: string;
  outputStride: OutputStride;
  build(encoder: ReturnType<typeof createEncoder>, c: ModelConfig): SegmentationModel;
}

export const ARCHITECTURES: Record<string, Architecture> = {
  unet: { description: 'UNet: skips at every stride', outputStride: 32, build: (e, c) => new UNet(e, { classes: c.classes, decoderChannels: c.decoderChannels }) },
  fcn32s: { description: 'FCN-32s', outputStride: 32, build: (e, c) => new FCN(e, { classes: c.classes, variant: '32s' }) },
  fcn16s: { description: 'FCN-16s: + stride-16 scores', outputStride: 32, build: (e, c) => new FCN(e, { classes: c.classes, variant: '16s' }) },
  fcn8s: { description: 'FCN-8s: + stride-16 and stride-8 scores', outputStride: 32, build: (e, c) => new FCN(e, { classes: c.classes, variant: '8s' }) },
  deeplabv3: { description: 'DeepLabV3: ASPP with image pooling (torchvision names)', outputStride: 8, build: (e, c) => new DeepLabV3(e, { classes: c.classes, rates: c.rates }) },
  deeplabv3plus: { description: 'DeepLabV3+: ASPP + stride-4 decoder', outputStride: 16, build: (e, c) => new DeepLabV3Plus(e, { classes: c.classes, rates: c.rates, separable: c.separable }) },
  pspnet: { description: 'PSPNet: pyramid pooling (bins configurable), optional aux head', outputStride: 8, build: (e, c) => new PSPNet(e, { classes: c.classes, bins: c.bins, auxHead: c.auxHead }) },
};

/** Build a segmentation model by architecture and encoder names. */
export function createModel(config: ModelConfig): SegmentationModel {
  const arch = ARCHITECTURES[config.arch];
  if (!arch) throw new ModelConfigError(`unknown architecture '${config.arch}' (known: ${Object.keys(ARCHITECTURES).join(', ')})`);
  if (!ENCODERS[config.encoder]) throw new ModelConfigError(`unknown encoder '${config.encoder}' (known: ${Object.keys(ENCODERS).join(', ')})`);
  if (!Number.isInteger(config.classes) || config.classes < 1) throw new ModelConfigError(`classes must be a positive integer, got ${config.classes}`);
  const inChannels = config.inChannels ?? 3;
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new ModelConfigError(`inChannels must be a positive integer, got ${inChannels}`);
  const outputStride = config.outputStride ?? arch.outputStride;
  const encoder = createEncoder(config.encoder, { inChannels, outputStride });
  return arch.build(encoder, config);
}
