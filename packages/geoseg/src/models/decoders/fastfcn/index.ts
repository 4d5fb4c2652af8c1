import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { FastFCN } from './model.js';

export { FastFCN, type FastFCNOptions, type FastFCNHead } from './model.js';
export { JointPyramidUpsampling } from './jpu.js';

export const fastfcn = defineArchitecture({
  description: 'FastFCN: joint pyramid upsampling of a plain encoder\'s strides 8–32, then a PSP or ASPP head',
  options: z.object({
    head: z.enum(['psp', 'aspp']).default('psp').describe('The head on the JPU features: PSPNet\'s pyramid pooling or DeepLabV3\'s ASPP.'),
    width: z.number().int().positive().default(512).describe('Channels of each JPU branch (the head sees 4 · width).'),
  }).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new FastFCN(encoder, { classes, head: o.head, width: o.width }),
  objective: outOnly,
});
