import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { pyramidOptions } from '../fpn/index.js';
import { PointRend } from './model.js';

export { PointRend, type PointRendOptions } from './model.js';
export { PointHead } from './point-head.js';
export { pointSample } from '../../point-sample.js';
export { uncertainty, trainingPoints, uncertainGridPoints } from './point-sampling.js';

export const pointrend = defineArchitecture({
  description: 'PointRend on semantic FPN: coarse stride-4 logits, refined at the most uncertain points by a point head (subdivision at inference)',
  options: z.object({
    ...pyramidOptions,
    pointChannels: z.number().int().positive().default(256).describe('Width of the point head\'s layers.'),
    pointLayers: z.number().int().positive().default(3).describe('Layers of the point head (each sees the coarse logits too).'),
    points: z.number().int().positive().default(2048).describe('Training points per image.'),
    oversampleRatio: z.number().min(1).default(3).describe('Training: uniform candidates drawn per point.'),
    importanceSampleRatio: z.number().min(0).max(1).default(0.75).describe('Training: share of the points taken as the most uncertain candidates (the rest uniform).'),
    subdivisionSteps: z.number().int().min(0).default(2).describe('Inference: ×2 upsamplings of the stride-4 logits, each refining the most uncertain points (2 reaches full resolution).'),
    subdivisionPoints: z.number().int().positive().default(8196).describe('Inference: points refined per step.'),
  }).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new PointRend(encoder, { classes, ...o }),
  // as mmseg's config: the coarse head's loss and the point loss, weight 1 each
  objective: () => ({ out: { weight: 1 }, points: { weight: 1 } }),
  sampledOutputs: { points: 'point_coords' },
});
