import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { pyramidOptions } from '../fpn/index.js';
import { FactSeg } from './model.js';

export { FactSeg } from './model.js';

export const factseg = defineArchitecture({
  description: 'FactSeg: foreground and semantic branches (two FPNs, two decoders) joined as one probability; cp loss with small object mining',
  options: z.object(pyramidOptions).strict(),
  outputStride: 32,
  build: (encoder, classes, o) => new FactSeg(encoder, { classes, ...o }),
  // The reference's training: the joint loss with small object mining at ratio 0.1 on `out`, which
  // reads `binary`; `binary` (one channel) takes no loss of its own.
  objective: () => ({ out: { weight: 1, loss: [{ name: 'cp', som: 0.1 }] }, binary: { weight: 0 } }),
  predictsWith: ['binary'],
});
