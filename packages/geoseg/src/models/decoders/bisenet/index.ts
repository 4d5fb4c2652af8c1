import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { BiSeNet } from './model.js';

export { BiSeNet, type BiSeNetOptions } from './model.js';

export const bisenet = defineArchitecture({
  description: 'BiSeNet V1: spatial path + attention-refined context path, fusion module; psp and split-fusion options',
  options: z.object({
    psp: z.object({
      bins: z.array(z.number().int().positive()).min(1).default([1, 2, 3, 6]).describe('Pyramid pooling bins.'),
    }).strict().optional().describe('Pyramid pooling on the deepest features instead of the global context (bins e.g. [1, 2, 3, 6], [1, 3, 6], [1, 2, 3]).'),
    fusion: z.enum(['paper', 'split']).default('paper')
      .describe('paper: concatenate the paths, 1×1 conv; split: each path to 256 channels by its own transition, summed.'),
  }).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new BiSeNet(encoder, { classes, pspBins: o.psp?.bins, fusion: o.fusion }),
  // As the paper: the two auxiliary losses weighted 1, like the principal one.
  objective: () => ({ out: { weight: 1 }, aux16: { weight: 1 }, aux8: { weight: 1 } }),
});
