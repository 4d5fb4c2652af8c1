import { z } from 'zod';
import { defineArchitecture } from '../../architecture.js';
import { DANet } from './model.js';

export { DANet } from './model.js';

export const danet = defineArchitecture({
  description: 'DANet: position and channel attention branches (each supervised: pam, cam) and their sum',
  options: z.object({}).strict(),
  outputStride: 8,
  build: (encoder, classes) => new DANet(encoder, { classes }),
  // As the official code: the sum's loss and each branch's, weighted equally.
  objective: () => ({ out: { weight: 1 }, pam: { weight: 1 }, cam: { weight: 1 } }),
});
