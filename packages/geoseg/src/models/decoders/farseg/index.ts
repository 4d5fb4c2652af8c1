import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { pyramidOptions } from '../fpn/index.js';
import { FarSeg } from './model.js';

export { FarSeg, type FarSegOptions } from './model.js';
export { SceneRelation } from './scene-relation.js';

export const farseg = defineArchitecture({
  description: 'FarSeg: semantic FPN with the foreground-scene relation module; trained with the annealing softmax focal loss',
  options: z.object({
    ...pyramidOptions,
    sceneProjection: z.enum(['perLevel', 'shared']).default('perLevel').describe('Scene embedding: one projection per pyramid level (the paper\'s scale-aware) or one shared.'),
  }).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new FarSeg(encoder, { classes, pyramidChannels: o.pyramidChannels, decoderChannels: o.decoderChannels, scaleAware: o.sceneProjection === 'perLevel' }),
  // The paper's loss by default; a run's `loss` replaces it.
  objective: () => ({ out: { weight: 1, loss: 'annealing_focal' } }),
});
