// A small random-weight checkpoint for inference tests: no training needed, and probabilities
// that vary from window to window (the head is scaled up), so a lost, doubled or stale
// contribution anywhere in a blended output shows.
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { createModel } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/models/checkpoint.js';

export function randomCheckpoint(dir: string, { name = 'random', classes = 3, bands = 3, seed = 11, mean = [120, 80, 100], std = [60, 40, 50], names = [] as string[] } = {}): string {
  torch.manualSeed(seed);
  const config = { arch: 'unet', encoder: 'resnet18', classes, inChannels: bands, decoderChannels: [32, 16, 16, 8, 8] };
  const out = join(dir, name);
  const m = createModel(config);
  torch.noGrad(() => { for (const [key, t] of Object.entries(m.stateDict())) if (key.startsWith('head.')) t.mul_(100); });
  saveCheckpoint(out, m, null, {
    step: 0, elapsedSeconds: 0, model: config,
    classes: Array.from({ length: classes }, (_, id) => ({ id, name: names[id] ?? `c${id}`, color: [id * 80, 90, 200 - id * 60] as [number, number, number] })),
    ignoreIndex: 255, bands, dtype: 'uint8', normalization: { mean: mean.slice(0, bands), std: std.slice(0, bands), scale: new Array(bands).fill(255) },
    config: null, scheduler: null, best: null, lastEval: null,
  });
  m.dispose();
  return out;
}
