// Per-window blending weights: overlapping windows are averaged with weights that fall towards
// the window's border (where a model sees the least context). Always positive, so a pixel seen
// by a single window (the scene's border) keeps its prediction. Weights are separable:
// w(y, x) = p(y) · p(x).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';

export type BlendMode = 'uniform' | 'linear' | 'hann';
export const BLEND_MODES: readonly BlendMode[] = ['uniform', 'linear', 'hann'];

/** The 1-D profile p (float32 [size]). */
export function blendProfile(size: number, mode: BlendMode): Tensor {
  return torch.tidy(() => {
    if (mode === 'uniform') return torch.ones([size]);
    const i = torch.arange(0, size, { dtype: 'float64' }).add(0.5);
    const profile = mode === 'linear'
      ? torch.minimum(i, i.neg().add(size)).mul(2 / size) // tent: 1 at the centre
      : i.mul(Math.PI / size).sin().pow(2); // hann
    return profile.clamp(1e-3).to('float32');
  });
}

/** [size, size] float32 weights. */
export function blendWeights(size: number, mode: BlendMode): Tensor {
  return torch.tidy(() => {
    const p = blendProfile(size, mode);
    return p.unsqueeze(1).mul(p.unsqueeze(0));
  });
}
