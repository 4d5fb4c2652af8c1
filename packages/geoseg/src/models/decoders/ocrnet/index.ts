import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { OCRNet } from './model.js';

export { OCRNet, type OCRNetOptions } from './model.js';
export { SpatialOCR, gatherRegions } from './spatial-ocr.js';

export const ocrnet = defineArchitecture({
  description: 'OCR on a dilated encoder: soft object regions from stage 4 (aux, 0.4), pixel–region attention on stage 5',
  options: z.object({
    midChannels: z.number().int().positive().default(512).describe('Channels of the pixel and object representations.'),
    keyChannels: z.number().int().positive().default(256).describe('Channels of the attention\'s queries and keys.'),
  }).strict(),
  outputStride: 8,
  build: (encoder, classes, o) => new OCRNet(encoder, { classes, midChannels: o.midChannels, keyChannels: o.keyChannels }),
  objective: () => ({ out: { weight: 1 }, aux: { weight: 0.4 } }),
});
