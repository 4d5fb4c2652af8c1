import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { RefineNet } from './model.js';

export { RefineNet, type RefineNetOptions } from './model.js';
export { ResidualConvUnit, MultiResolutionFusion, ChainedResidualPool, RefineNetBlock } from './blocks.js';

export const refinenet = defineArchitecture({
  description: 'RefineNet (4-cascade): residual conv units, multi-resolution fusion and chained residual pooling from stride 32 up',
  options: z.object({
    features: z.number().int().positive().default(256).describe('Channels of the refinement paths (the stride-32 path has twice as many).'),
  }).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new RefineNet(encoder, { classes, features: o.features }),
  objective: outOnly,
});
