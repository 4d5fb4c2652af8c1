// Boundary refinement of coarse labels (SegHZ 2.5: labels delivered at a coarser resolution than
// the imagery get jagged, blocky edges when upsampled): the label map, brought to the image's
// grid by nearest neighbour, becomes soft unaries (the label's class at `confidence`, the rest
// shared), and the dense CRF over the full-resolution image (infer/crf/dense-crf.ts) moves the
// edges onto the image's own. Ignored pixels stay ignored. The scene is refined in windows
// with a margin, so memory follows the window, not the scene.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../../errors.js';
import { denseCrf, type CrfOptions } from './dense-crf.js';

export interface RefineOptions {
  /** The unary weight of the given label (the other classes share the rest). */
  confidence: number;
  crf: CrfOptions;
  /** Refinement windows (pixels) and the margin of context around each. */
  window?: number;
  margin?: number;
}

/**
 * Coarse-label refinement defaults: a local bilateral kernel (edges within a few pixels). Chosen
 * on three demo masks coarsened 8× (README): the best of the settings tried.
 */
export const REFINE_DEFAULTS: RefineOptions = {
  confidence: 0.55,
  crf: { iterations: 8, gaussian: { sxy: 1, compat: 2 }, bilateral: { sxy: 6, srgb: 8, compat: 8 } },
  window: 512,
  margin: 32,
};

/** Class ids [h, w] brought to [H, W] by nearest neighbour (pixel centres, as GDAL's nearest). */
export function nearestTo(ids: Tensor, H: number, W: number): Tensor {
  const [h, w] = ids.shape;
  if (h === H && w === W) return ids;
  return torch.tidy(() => {
    const rows = torch.arange(H).to('float64').add(0.5).mul(h / H).floor().clamp(0, h - 1).to('int64');
    const cols = torch.arange(W).to('float64').add(0.5).mul(w / W).floor().clamp(0, w - 1).to('int64');
    return ids.indexSelect(0, rows).indexSelect(1, cols);
  });
}

/** Refined class ids of one window: ids [H, W] (uint8, ignoreIndex kept), image [bands, H, W]. */
export function refineWindow(ids: Tensor, image: Tensor, classes: number, ignoreIndex: number, opts: RefineOptions): Tensor {
  return torch.tidy(() => {
    const labelled = ids.ne(ignoreIndex);
    const safe = ids.to('int64').maskedFill(labelled.logicalNot(), 0);
    const rest = (1 - opts.confidence) / Math.max(classes - 1, 1);
    const onehot = torch.zeros([classes, ...ids.shape]).scatter_(0, safe.unsqueeze(0), 1);
    // labelled: confidence on the label, the rest shared; ignored: uniform
    const p = torch.where(labelled.unsqueeze(0), onehot.mul(opts.confidence - rest).add(rest), torch.fullLike(onehot, 1 / classes));
    const refined = denseCrf(p, image, opts.crf).argmax(0).to('uint8');
    return refined.maskedFill(labelled.logicalNot(), ignoreIndex);
  });
}

/**
 * Refined class ids [H, W] of a whole scene: `ids` at the image's size (see nearestTo), `read`
 * gives the image window [bands, h, w] at (x, y).
 */
export async function refineLabels(ids: Tensor, read: (x: number, y: number, w: number, h: number) => Promise<Tensor>, classes: number, ignoreIndex: number, opts: RefineOptions): Promise<Tensor> {
  if (!(opts.confidence > 1 / classes && opts.confidence < 1)) throw new GeosegError(`--confidence: must be between 1/classes (${(1 / classes).toFixed(3)}) and 1, got ${opts.confidence}`);
  const [H, W] = ids.shape;
  const S = opts.window ?? 512, m = opts.margin ?? 32;
  const out = torch.zeros([H, W], { dtype: 'uint8' });
  for (let y = 0; y < H; y += S) {
    for (let x = 0; x < W; x += S) {
      // the window with its margin, clipped to the scene
      const x0 = Math.max(0, x - m), y0 = Math.max(0, y - m);
      const x1 = Math.min(W, x + S + m), y1 = Math.min(H, y + S + m);
      const image = await read(x0, y0, x1 - x0, y1 - y0);
      torch.tidy(() => {
        const r = refineWindow(ids.narrow(0, y0, y1 - y0).narrow(1, x0, x1 - x0), image, classes, ignoreIndex, opts);
        const h = Math.min(S, H - y), w = Math.min(S, W - x);
        out.narrow(0, y, h).narrow(1, x, w).copy_(r.narrow(0, y - y0, h).narrow(1, x - x0, w));
      });
      image.dispose();
    }
  }
  return out;
}
