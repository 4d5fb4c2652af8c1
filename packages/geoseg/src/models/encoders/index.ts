// The encoder table: name → factory.
import { ModelConfigError } from '../../errors.js';
import type { Encoder, EncoderOptions } from './encoder.js';
import { MobileNetV2Encoder } from './mobilenet-v2.js';
import { ResNetEncoder } from './resnet.js';
import { VGG16Encoder } from './vgg.js';
import { HRNetEncoder } from './hrnet.js';
import { DenseNetEncoder } from './densenet.js';
import { ResNeStEncoder } from './resnest.js';

export { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';
export { ResNetEncoder } from './resnet.js';
export { HRNetEncoder, HRNET_WIDTHS, type HRNetName } from './hrnet.js';
export { MobileNetV2Encoder } from './mobilenet-v2.js';
export { DenseNetEncoder } from './densenet.js';
export { ResNeStEncoder, type ResNeStName } from './resnest.js';
export { VGG16Encoder, type VGGOptions } from './vgg.js';
/** The earlier name of VGG16Encoder (batch norm by default). */
export { VGG16Encoder as VGG16BNEncoder } from './vgg.js';

export const ENCODERS: Record<string, (opts: EncoderOptions) => Encoder> = {
  resnet18: (o) => new ResNetEncoder('resnet18', o),
  resnet34: (o) => new ResNetEncoder('resnet34', o),
  resnet50: (o) => new ResNetEncoder('resnet50', o),
  resnet101: (o) => new ResNetEncoder('resnet101', o),
  mobilenet_v2: (o) => new MobileNetV2Encoder(o),
  vgg16: (o) => new VGG16Encoder({ ...o, batchNorm: false }),
  vgg16_bn: (o) => new VGG16Encoder(o),
  hrnetv2_w18: (o) => new HRNetEncoder('hrnetv2_w18', o),
  hrnetv2_w32: (o) => new HRNetEncoder('hrnetv2_w32', o),
  hrnetv2_w48: (o) => new HRNetEncoder('hrnetv2_w48', o),
  densenet121: (o) => new DenseNetEncoder(o),
  resnest50: (o) => new ResNeStEncoder('resnest50', o),
  resnest101: (o) => new ResNeStEncoder('resnest101', o),
};

export function createEncoder(name: string, opts: EncoderOptions = {}): Encoder {
  const make = ENCODERS[name];
  if (!make) throw new ModelConfigError(`unknown encoder '${name}' (known: ${Object.keys(ENCODERS).join(', ')})`);
  return make(opts);
}
