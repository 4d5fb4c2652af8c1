import { z } from 'zod';
import { defineArchitecture, outOnly } from '../../architecture.js';
import { SemanticFPN } from './model.js';

export { SemanticFPN, pyramidInputs, upsample4, type PyramidHeadOptions } from './model.js';
export { FeaturePyramid } from './feature-pyramid.js';
export { AsymmetricDecoder } from './asymmetric-decoder.js';

export const pyramidOptions = {
  pyramidChannels: z.number().int().positive().default(256).describe('Channels of the feature pyramid.'),
  decoderChannels: z.number().int().positive().default(128).describe('Channels of the decoder (each level\'s conv stages, averaged at stride 4).'),
};

export const fpn = defineArchitecture({
  description: 'Semantic FPN: a feature pyramid on strides 4–32, each level upsampled to stride 4 by conv stages and averaged',
  options: z.object(pyramidOptions).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new SemanticFPN(encoder, { classes, ...o }),
  objective: outOnly,
});
