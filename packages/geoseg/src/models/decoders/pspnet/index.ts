import { z } from 'zod';
import { defineArchitecture, type Objective } from '../../architecture.js';
import { PSPNet } from './model.js';

export { PSPNet, type PSPNetOptions } from './model.js';

export const pspnet = defineArchitecture({
  description: 'PSPNet: pyramid pooling (bins configurable), optional aux head',
  options: z.object({
    bins: z.array(z.number().int().positive()).min(1).default([1, 2, 3, 6]).describe('Pyramid pooling bins.'),
    auxHead: z.boolean().default(false).describe('Auxiliary head on the stride-16 features (output `aux`, in training).'),
  }).strict(),
  outputStride: 8,
  build: (encoder, classes, o) => new PSPNet(encoder, { classes, bins: o.bins, auxHead: o.auxHead }),
  // As mmseg's and the PSPNet paper's: the auxiliary loss weighted 0.4.
  objective: (o): Objective => (o.auxHead ? { out: { weight: 1 }, aux: { weight: 0.4 } } : { out: { weight: 1 } }),
});
