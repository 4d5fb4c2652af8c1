import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { HRNetOCR } from './model.js';

export { HRNetOCR, type HRNetOCROptions } from './model.js';

export const hrnet_ocr = defineArchitecture({
  description: 'HRNetV2 + OCR: soft object regions (aux, 0.4), class representations, pixel–region attention',
  options: z.object({
    midChannels: z.number().int().positive().default(512).describe('Channels of the pixel and object representations.'),
    keyChannels: z.number().int().positive().default(256).describe('Channels of the attention\'s queries and keys.'),
  }).strict(),
  outputStride: 32,
  encoders: ['hrnetv2_w18', 'hrnetv2_w32', 'hrnetv2_w48'],
  build: (encoder, classes, o) => new HRNetOCR(encoder, { classes, midChannels: o.midChannels, keyChannels: o.keyChannels }),
  objective: () => ({ out: { weight: 1 }, aux: { weight: 0.4 } }),
});
