// The encoder table: name → factory.
import { ModelConfigError } from '../../errors.js';
import type { Encoder, EncoderOptions, OutputStride } from './encoder.js';
import { MobileNetV2Encoder } from './mobilenet-v2.js';
import { ResNetEncoder } from './resnet.js';
import { VGG16Encoder } from './vgg.js';
import { HRNetEncoder } from './hrnet.js';
import { DenseNetEncoder } from './densenet.js';
import { ResNeStEncoder } from './resnest.js';
import { XceptionEncoder } from './xception.js';
import { HourglassEncoder } from './hourglass.js';

export { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';
export { ResNetEncoder } from './resnet.js';
export { HRNetEncoder, HRNET_WIDTHS, type HRNetName } from './hrnet.js';
export { MobileNetV2Encoder } from './mobilenet-v2.js';
export { DenseNetEncoder } from './densenet.js';
export { ResNeStEncoder, type ResNeStName } from './resnest.js';
export { XceptionEncoder } from './xception.js';
export { HourglassEncoder, type HourglassName } from './hourglass.js';
export { VGG16Encoder, type VGGOptions } from './vgg.js';
/** The earlier name of VGG16Encoder (batch norm by default). */
export { VGG16Encoder as VGG16BNEncoder } from './vgg.js';

export interface EncoderEntry {
  create(opts: EncoderOptions): Encoder;
  /** Output strides it can run at (by dilation): where an architecture's must be one of them. */
  outputStrides: readonly OutputStride[];
}

const DILATABLE: readonly OutputStride[] = [8, 16, 32];
/** HRNet keeps a stride-4 branch; the hourglass's deeper levels are internal. */
const FIXED: readonly OutputStride[] = [32];

export const ENCODERS: Record<string, EncoderEntry> = {
  resnet18: { create: (o) => new ResNetEncoder('resnet18', o), outputStrides: DILATABLE },
  resnet34: { create: (o) => new ResNetEncoder('resnet34', o), outputStrides: DILATABLE },
  resnet50: { create: (o) => new ResNetEncoder('resnet50', o), outputStrides: DILATABLE },
  resnet101: { create: (o) => new ResNetEncoder('resnet101', o), outputStrides: DILATABLE },
  mobilenet_v2: { create: (o) => new MobileNetV2Encoder(o), outputStrides: DILATABLE },
  vgg16: { create: (o) => new VGG16Encoder({ ...o, batchNorm: false }), outputStrides: DILATABLE },
  vgg16_bn: { create: (o) => new VGG16Encoder(o), outputStrides: DILATABLE },
  hrnetv2_w18: { create: (o) => new HRNetEncoder('hrnetv2_w18', o), outputStrides: FIXED },
  hrnetv2_w32: { create: (o) => new HRNetEncoder('hrnetv2_w32', o), outputStrides: FIXED },
  hrnetv2_w48: { create: (o) => new HRNetEncoder('hrnetv2_w48', o), outputStrides: FIXED },
  densenet121: { create: (o) => new DenseNetEncoder(o), outputStrides: DILATABLE },
  resnest50: { create: (o) => new ResNeStEncoder('resnest50', o), outputStrides: DILATABLE },
  resnest101: { create: (o) => new ResNeStEncoder('resnest101', o), outputStrides: DILATABLE },
  xception65: { create: (o) => new XceptionEncoder(o), outputStrides: DILATABLE },
  hourglass52: { create: (o) => new HourglassEncoder('hourglass52', o), outputStrides: FIXED },
  hourglass104: { create: (o) => new HourglassEncoder('hourglass104', o), outputStrides: FIXED },
};

export function createEncoder(name: string, opts: EncoderOptions = {}): Encoder {
  const entry = ENCODERS[name];
  if (!entry) throw new ModelConfigError(`unknown encoder '${name}' (known: ${Object.keys(ENCODERS).join(', ')})`);
  return entry.create(opts);
}
