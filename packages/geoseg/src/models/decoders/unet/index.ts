import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { UNet } from './model.js';

export { UNet, type UNetOptions } from './model.js';
export { AttentionGate } from './attention-gate.js';

export const unet = defineArchitecture({
  description: 'UNet: skips at every stride',
  options: z.object({
    decoderChannels: z.array(z.number().int().positive()).length(5).default([256, 128, 64, 32, 16]).describe('Channels of the five decoder blocks, deepest first.'),
  }).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new UNet(encoder, { classes, decoderChannels: o.decoderChannels }),
  objective: outOnly,
});

export const attention_unet = defineArchitecture({
  description: 'Attention U-Net: UNet whose skips are weighted by additive attention gates from the decoder',
  options: unet.options,
  outputStride: 32,
  build: (encoder, classes, o) => new UNet(encoder, { classes, decoderChannels: o.decoderChannels, attention: true }),
  objective: outOnly,
});
