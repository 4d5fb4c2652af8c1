// Label-to-image alignment (SegHZ's registration step): the translation between a label raster and
// its image that best puts the label's class boundaries on the image's edges. For every shift
// (dx, dy) in a search window the score is the mean image edge strength (Sobel magnitude of the
// band mean, divided by its scene mean) under the label's boundary pixels moved by that shift; the
// best integer shift is refined to a fraction of a pixel by a parabola through its neighbours.
// Convention: label pixel (x + dx, y + dy) belongs to image pixel (x, y), so a mask drawn 3 pixels
// to the right of its objects has dx = 3, and prepare reads the label 3 pixels further right.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';

export interface Alignment {
  /** The integer shift applied (label pixel (x + dx, y + dy) ↔ image pixel (x, y)). */
  dx: number;
  dy: number;
  /** The sub-pixel estimate (parabola through the best shift's neighbours). */
  fx: number;
  fy: number;
  /** Mean relative edge strength under the label boundaries at the best shift, and unshifted. */
  score: number;
  unshiftedScore: number;
}

/** Sobel gradient magnitude of the band mean of an image [bands, H, W], divided by its mean. */
function edgeStrength(image: Tensor): Tensor {
  return torch.tidy(() => {
    const gray = image.to('float32').nanToNum(0, 0, 0).mean(0, false).unsqueeze(0).unsqueeze(0);
    const sx = torch.tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1], { shape: [1, 1, 3, 3] });
    const gx = torch.conv2d(gray, sx, null, 1, 1), gy = torch.conv2d(gray, sx.transpose(2, 3), null, 1, 1);
    const mag = gx.pow(2).add(gy.pow(2)).sqrt().squeeze(0).squeeze(0);
    return mag.div(mag.mean().clampMin(1e-12));
  });
}

/** 1 on both pixels of every pair of labelled neighbours (across or down) of different classes [H, W]: symmetric, so no half-pixel bias. */
function boundaries(ids: Tensor, ignoreIndex: number): Tensor {
  return torch.tidy(() => {
    const [H, W] = ids.shape;
    const labelled = ids.ne(ignoreIndex);
    const out = torch.zeros([H, W], { dtype: 'bool' });
    const right = ids.narrow(1, 0, W - 1).ne(ids.narrow(1, 1, W - 1)).logicalAnd(labelled.narrow(1, 0, W - 1)).logicalAnd(labelled.narrow(1, 1, W - 1));
    const down = ids.narrow(0, 0, H - 1).ne(ids.narrow(0, 1, H - 1)).logicalAnd(labelled.narrow(0, 0, H - 1)).logicalAnd(labelled.narrow(0, 1, H - 1));
    out.narrow(1, 0, W - 1).logicalOr_(right);
    out.narrow(1, 1, W - 1).logicalOr_(right);
    out.narrow(0, 0, H - 1).logicalOr_(down);
    out.narrow(0, 1, H - 1).logicalOr_(down);
    return out.to('float32');
  });
}

/** Offset of a parabola's vertex through (−1, a), (0, b), (1, c), in (−0.5, 0.5). */
function vertex(a: number, b: number, c: number): number {
  const d = a - 2 * b + c;
  return d < 0 ? Math.max(-0.5, Math.min(0.5, (a - c) / (2 * d))) : 0;
}

/**
 * The shift within ±radius pixels that best aligns class ids [H, W] to image [bands, H, W]; a
 * scene without label boundaries (or too small for the radius) gets (0, 0).
 */
export function estimateAlignment(image: Tensor, ids: Tensor, ignoreIndex: number, radius: number): Alignment {
  const [H, W] = ids.shape;
  const none = { dx: 0, dy: 0, fx: 0, fy: 0, score: 0, unshiftedScore: 0 };
  if (H <= 2 * radius + 2 || W <= 2 * radius + 2) return none;
  return torch.tidy(() => {
    const edges = edgeStrength(image).narrow(0, radius, H - 2 * radius).narrow(1, radius, W - 2 * radius);
    const bounds = boundaries(ids, ignoreIndex);
    const side = 2 * radius + 1;
    const scores: number[] = new Array(side * side).fill(Number.NEGATIVE_INFINITY);
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        torch.tidy(() => {
          const b = bounds.narrow(0, radius + dy, H - 2 * radius).narrow(1, radius + dx, W - 2 * radius);
          const n = b.sum().item();
          if (n > 0) scores[(dy + radius) * side + dx + radius] = b.mul(edges).sum().item() / n;
        });
      }
    }
    let best = -1;
    scores.forEach((s, i) => { if (best < 0 || s > scores[best]) best = i; });
    if (!Number.isFinite(scores[best])) return none;
    const by = Math.floor(best / side), bx = best % side;
    const at = (x: number, y: number) => (x >= 0 && x < side && y >= 0 && y < side && Number.isFinite(scores[y * side + x]) ? scores[y * side + x] : scores[best]);
    const fx = bx - radius + vertex(at(bx - 1, by), scores[best], at(bx + 1, by));
    const fy = by - radius + vertex(at(bx, by - 1), scores[best], at(bx, by + 1));
    return { dx: bx - radius, dy: by - radius, fx, fy, score: scores[best], unshiftedScore: scores[radius * side + radius] };
  });
}
