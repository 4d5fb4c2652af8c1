// Test-time augmentation: the D4 transforms of a square window batch [N, C, S, S], each with its
// inverse, so predictions made on a transformed input are mapped back before averaging.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';

export interface TtaTransform {
  name: string;
  apply(x: Tensor): Tensor;
  undo(y: Tensor): Tensor;
}

const involution = (name: string, f: (x: Tensor) => Tensor): TtaTransform => ({ name, apply: f, undo: f });

export const TTA_TRANSFORMS: Record<string, TtaTransform> = {
  identity: involution('identity', (x) => x),
  lr: involution('lr', (x) => x.flip([3])),
  tb: involution('tb', (x) => x.flip([2])),
  lrtb: involution('lrtb', (x) => x.flip([2, 3])), // = rot180
  transpose: involution('transpose', (x) => x.transpose(2, 3)),
  antitranspose: involution('antitranspose', (x) => x.transpose(2, 3).flip([2, 3])),
  rot90: { name: 'rot90', apply: (x) => torch.rot90(x, 1, [2, 3]), undo: (y) => torch.rot90(y, -1, [2, 3]) },
  rot270: { name: 'rot270', apply: (x) => torch.rot90(x, -1, [2, 3]), undo: (y) => torch.rot90(y, 1, [2, 3]) },
};

export const TTA_PRESETS: Record<string, string[]> = {
  none: ['identity'],
  flip: ['identity', 'lr', 'tb', 'lrtb'],
  d4: ['identity', 'lr', 'tb', 'lrtb', 'transpose', 'antitranspose', 'rot90', 'rot270'],
};

/** Transforms of a preset name ('none' | 'flip' | 'd4') or an explicit list of transform names. */
export function ttaTransforms(spec: string | string[]): TtaTransform[] {
  const names = Array.isArray(spec) ? spec : TTA_PRESETS[spec];
  if (!names) throw new GeosegError(`unknown TTA '${spec}' (presets: ${Object.keys(TTA_PRESETS).join(', ')}; or a list of ${Object.keys(TTA_TRANSFORMS).join(', ')})`);
  if (names.length === 0) throw new GeosegError('TTA list is empty (use none)');
  return names.map((n) => {
    const t = TTA_TRANSFORMS[n];
    if (!t) throw new GeosegError(`unknown TTA transform '${n}' (known: ${Object.keys(TTA_TRANSFORMS).join(', ')})`);
    return t;
  });
}
