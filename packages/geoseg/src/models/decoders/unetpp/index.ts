import { z } from 'zod';
import { defineArchitecture, type Objective } from '../../architecture.js';
import { UNetPlusPlus } from './model.js';

export { UNetPlusPlus, type UNetPlusPlusOptions } from './model.js';

export const unetpp = defineArchitecture({
  description: 'UNet++: nested dense skip pathways; deep supervision over the X(0,j) heads and pruned inference',
  options: z.object({
    decoderChannels: z.array(z.number().int().positive()).length(4).default([32, 64, 128, 256]).describe('Channels of the nested nodes at strides 2, 4, 8, 16.'),
    deepSupervision: z.boolean().default(false).describe('A head on every X(0,j): outputs level1..3 (weight 1 each, as the reference) beside out.'),
    prune: z.number().int().min(1).max(4).default(4).describe('Predict from X(0,prune), computing only the nodes it needs (below 4 needs deepSupervision).'),
  }).strict(),
  check: (o) => (o.prune === 4 || o.deepSupervision ? undefined : { path: ['prune'], message: `${o.prune} needs deepSupervision: true (a head on the pruned level)` }),
  outputStride: 32,
  build: (encoder, classes, o) => new UNetPlusPlus(encoder, { classes, ...o }),
  objective: (o): Objective => (o.deepSupervision
    ? { out: { weight: 1 }, level1: { weight: 1 }, level2: { weight: 1 }, level3: { weight: 1 } }
    : { out: { weight: 1 } }),
});
