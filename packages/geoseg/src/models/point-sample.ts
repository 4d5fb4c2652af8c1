// Reading maps at points: (x, y) in [0, 1] of the map's width and height, as PointRend's
// point_sample (grid_sample, align_corners false; zeros outside).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';

const BILINEAR = 0;
const NEAREST = 1;
const ZEROS = 0;

/** Values of [N, C, H, W] at points [N, P, 2] → [N, C, P]. */
export function pointSample(map: Tensor, points: Tensor, mode: 'bilinear' | 'nearest' = 'bilinear'): Tensor {
  return torch.tidy(() => {
    let grid = points.mul(2).sub(1).unsqueeze(2); // [N, P, 1, 2] in grid_sample's [-1, 1]
    // points are float32; a float64 model samples in float64 (bfloat16 maps are autocast's: it
    // samples them in float32, so coordinates keep their precision)
    if (map.dtype === 'float64') grid = grid.double();
    return torch.gridSampler2d(map, grid, mode === 'bilinear' ? BILINEAR : NEAREST, ZEROS, false).squeeze(3);
  });
}
