import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { DeepLabV1 } from './model.js';

export { DeepLabV1, type DeepLabV1Options } from './model.js';

export const deeplabv1 = defineArchitecture({
  description: 'DeepLab v1: VGG-16 at stride 8 (conv5 dilated 2), fc6 3×3 dilated 4, fc7, fc8',
  options: z.object({
    fc6Dilation: z.number().int().positive().default(4).describe('Dilation of fc6 (the paper: 4; its LargeFOV variant: 12).'),
    fcChannels: z.number().int().positive().default(1024).describe('Channels of fc6 and fc7.'),
  }).strict(),
  outputStride: 8,
  encoders: ['vgg16', 'vgg16_bn'],
  build: (encoder, classes, o) => new DeepLabV1(encoder, { classes, fc6Dilation: o.fc6Dilation, fcChannels: o.fcChannels }),
  objective: outOnly,
});
