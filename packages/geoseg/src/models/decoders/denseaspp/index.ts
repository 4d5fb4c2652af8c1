import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { DenseASPP } from './model.js';

export { DenseASPP } from './model.js';

export const denseaspp = defineArchitecture({
  description: 'DenseASPP: densely connected atrous branches (rates 3, 6, 12, 18, 24) on the deepest features',
  options: z.object({}).strict(),
  outputStride: 8,
  build: (encoder, classes) => new DenseASPP(encoder, { classes }),
  objective: outOnly,
});
