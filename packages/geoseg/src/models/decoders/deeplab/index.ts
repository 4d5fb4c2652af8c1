import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { DeepLabV3, DeepLabV3Plus } from './model.js';

export { DeepLabV3, DeepLabV3Plus, ASPP, type DeepLabOptions } from './model.js';

const rates = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()])
  .default([12, 24, 36]).describe('Dilation rates of the three 3×3 ASPP branches.');

export const deeplabv3 = defineArchitecture({
  description: 'DeepLabV3: ASPP with image pooling (torchvision names)',
  options: z.object({ rates }).strict(),
  outputStride: 8,
  build: (encoder, classes, o) => new DeepLabV3(encoder, { classes, rates: o.rates }),
  objective: outOnly,
});

export const deeplabv3plus = defineArchitecture({
  description: 'DeepLabV3+: ASPP + stride-4 decoder',
  options: z.object({
    rates,
    separable: z.boolean().default(false).describe('Depthwise-separable convolutions in ASPP and decoder.'),
  }).strict(),
  outputStride: 16,
  build: (encoder, classes, o) => new DeepLabV3Plus(encoder, { classes, rates: o.rates, separable: o.separable }),
  objective: outOnly,
});
