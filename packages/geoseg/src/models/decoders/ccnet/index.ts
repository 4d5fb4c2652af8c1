import { z } from 'zod';
import { defineArchitecture, type Objective } from '../../architecture.js';
import { CCNet } from './model.js';

export { CCNet, type CCNetOptions } from './model.js';
export { CrissCrossAttention } from './criss-cross.js';

export const ccnet = defineArchitecture({
  description: 'CCNet: criss-cross attention applied recurrently with shared weights, aux head on stage 4',
  options: z.object({
    recurrence: z.number().int().positive().default(2).describe('Times the criss-cross attention is applied (same weights).'),
    auxHead: z.boolean().default(true).describe('Auxiliary FCN head on the stride-16 stage (output `aux`, weight 0.4).'),
  }).strict(),
  outputStride: 8,
  build: (encoder, classes, o) => new CCNet(encoder, { classes, recurrence: o.recurrence, auxHead: o.auxHead }),
  objective: (o): Objective => (o.auxHead ? { out: { weight: 1 }, aux: { weight: 0.4 } } : { out: { weight: 1 } }),
});
