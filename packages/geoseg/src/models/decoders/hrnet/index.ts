import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { HRNetV2 } from './model.js';

export { HRNetV2 } from './model.js';

export const hrnet = defineArchitecture({
  description: 'HRNetV2: all four HRNet branches at stride 4, concatenated, 1×1 conv + BN + ReLU, classifier',
  options: z.object({
    pam: z.boolean().default(false).describe('Position attention at 1/8 in an hourglass (stride-2 conv, PAM, transposed conv) added to the 1/4 features.'),
  }).strict(),
  outputStride: 32,
  encoders: ['hrnetv2_w18', 'hrnetv2_w32', 'hrnetv2_w48'],
  build: (encoder, classes, o) => new HRNetV2(encoder, { classes, pam: o.pam }),
  objective: outOnly,
});
