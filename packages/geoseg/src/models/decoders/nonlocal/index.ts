import { z } from 'zod';
import { defineArchitecture, type Objective } from '../../architecture.js';
import { NonLocalNet } from './model.js';

export { NonLocalNet, NonLocalBlock } from './model.js';

export const nonlocal = defineArchitecture({
  description: 'Non-local head (embedded Gaussian self-attention over all pixels), aux head on stage 4',
  options: z.object({
    auxHead: z.boolean().default(true).describe('Auxiliary FCN head on the stride-16 stage (output `aux`, weight 0.4).'),
  }).strict(),
  outputStride: 8,
  build: (encoder, classes, o) => new NonLocalNet(encoder, { classes, auxHead: o.auxHead }),
  objective: (o): Objective => (o.auxHead ? { out: { weight: 1 }, aux: { weight: 0.4 } } : { out: { weight: 1 } }),
});
