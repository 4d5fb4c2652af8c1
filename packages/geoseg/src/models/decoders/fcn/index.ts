import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { FCN, type FCNVariant } from './model.js';

export { FCN, type FCNOptions, type FCNVariant } from './model.js';

const fcn = (variant: FCNVariant, description: string) => defineArchitecture({
  description,
  options: z.object({}).strict(),
  outputStride: 32,
  build: (encoder, classes) => new FCN(encoder, { classes, variant }),
  objective: outOnly,
});

export const fcn32s = fcn('32s', 'FCN-32s');
export const fcn16s = fcn('16s', 'FCN-16s: + stride-16 scores');
export const fcn8s = fcn('8s', 'FCN-8s: + stride-16 and stride-8 scores');
