import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { DeepLabV2 } from './model.js';

export { DeepLabV2, type DeepLabV2Options } from './model.js';

export const deeplabv2 = defineArchitecture({
  description: 'DeepLab v2: ASPP of four dilated 3×3 score branches (6/12/18/24), summed; the paper\'s encoder is resnet101',
  options: z.object({
    rates: z.array(z.number().int().positive()).min(1).default([6, 12, 18, 24]).describe('Dilations of the ASPP branches.'),
  }).strict(),
  outputStride: 8,
  build: (encoder, classes, o) => new DeepLabV2(encoder, { classes, rates: o.rates }),
  objective: outOnly,
});
