// Cross-sensor colour normalisation by histogram matching, band by band (8-bit imagery): each
// value of a scene goes to the reference's value at the same quantile, the rule of
// skimage.exposure.match_histograms (source quantile = the share of pixels ≤ the value; the
// reference's quantiles interpolated linearly between the values it holds), rounded to a byte.
// The reference is a raster (a scene of the sensor the model knows) or a prepared dataset (the
// per-band histograms prepare records of its scenes).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { Raster } from '../raster/index.js';
import { readDataset } from './dataset.js';

/** Per-band counts of the 256 byte values [bands][256]. */
export type ByteHistograms = number[][];

/** Rows per strip when a scene is read for its histogram. */
const STRIP_ROWS = 512;

/** Adds the byte histograms of an image [bands, H, W] into `into` [bands, 256] float64; pixels where `skip` is set are left out. */
export function addByteHistograms(into: Tensor, image: Tensor, skip: Tensor | null = null): void {
  torch.tidy(() => {
    const B = image.shape[0];
    const values = image.to('int64').view([B, -1]);
    const keep = skip ? skip.logicalNot().flatten() : null;
    for (let b = 0; b < B; b++) {
      const v = keep ? values.select(0, b).maskedSelect(keep) : values.select(0, b);
      into.select(0, b).add_(torch.bincount(v, null, 256).to('float64'));
    }
  });
}

/** Whether every band holds the declared nodata value, per pixel [H, W] (null: no nodata declared). */
export function nodataPixels(image: Tensor, nodata: number | null): Tensor | null {
  return nodata === null || Number.isNaN(nodata) ? null : image.eq(nodata).all(0);
}

/** The byte histograms of a whole raster (read in strips; declared nodata left out). */
export async function rasterByteHistograms(path: string): Promise<ByteHistograms> {
  const r = await Raster.open(path);
  try {
    checkByte(path, r.info.dataTypes);
    const { width, height, bandCount } = r.info;
    const nodata = r.info.nodata.every((v) => v === r.info.nodata[0]) ? r.info.nodata[0] : null;
    const counts = torch.zeros([bandCount, 256], { dtype: 'float64' }).keep();
    try {
      for (let y = 0; y < height; y += STRIP_ROWS) {
        const strip = await r.read({ x: 0, y, width, height: Math.min(STRIP_ROWS, height - y) });
        torch.tidy(() => addByteHistograms(counts, strip, nodataPixels(strip, nodata)));
        strip.dispose();
      }
      return counts.toArray() as number[][];
    } finally {
      counts.dispose();
    }
  } finally {
    r.close();
  }
}

export function checkByte(path: string, dataTypes: string[]): void {
  const other = dataTypes.find((t) => t !== 'Byte');
  if (other) throw new GeosegError(`${path}: histogram matching takes 8-bit imagery for now, this raster has ${other} bands`);
}

/** The reference's histograms: a prepared dataset folder (its recorded histograms) or a raster. */
export async function referenceHistograms(reference: string): Promise<ByteHistograms> {
  if (!existsSync(reference)) throw new GeosegError(`${reference}: histogram reference not found (a raster or a prepared dataset folder)`);
  if (statSync(reference).isDirectory()) {
    const ds = readDataset(reference);
    if (!ds.histograms) throw new GeosegError(`${join(reference, 'dataset.json')}: has no band histograms (prepared before they were recorded, or not 8-bit: prepare it again)`);
    return ds.histograms;
  }
  return rasterByteHistograms(reference);
}

/** np.interp(x, xp, fp) for increasing xp (1-D float64 tensors): linear inside, the end values outside. */
function interp(x: Tensor, xp: Tensor, fp: Tensor): Tensor {
  return torch.tidy(() => {
    const n = xp.shape[0];
    if (n === 1) return x.mul(0).add_(fp.item());
    const hi = torch.searchsorted(xp, x, { right: true }).clamp(1, n - 1);
    const lo = hi.sub(1);
    const x0 = xp.indexSelect(0, lo), x1 = xp.indexSelect(0, hi);
    const y0 = fp.indexSelect(0, lo), y1 = fp.indexSelect(0, hi);
    // numpy's arithmetic: slope · (x − x0) + y0, the end values outside [xp0, xp_n−1]
    const inside = y1.sub(y0).div(x1.sub(x0)).mul(x.sub(x0)).add(y0);
    return torch.where(x.lt(xp.select(0, 0)), fp.select(0, 0), torch.where(x.ge(xp.select(0, n - 1)), fp.select(0, n - 1), inside));
  });
}

/**
 * The lookup table [bands, 256] (uint8) taking a scene with histograms `source` to `reference`'s
 * distribution. Values the scene does not hold map by the same rule (their quantile is the
 * share of pixels below them), so a lookup never fails.
 */
export function matchingTable(source: ByteHistograms, reference: ByteHistograms): Tensor {
  if (source.length !== reference.length) throw new GeosegError(`histogram matching: the scene has ${source.length} bands, the reference ${reference.length}`);
  return torch.tidy(() => torch.stack(source.map((src, b) => {
    const s = torch.tensor(src, { dtype: 'float64' }), r = torch.tensor(reference[b], { dtype: 'float64' });
    const sTotal = s.sum().item(), rTotal = r.sum().item();
    if (sTotal === 0 || rTotal === 0) return torch.arange(256).to('uint8'); // nothing to match: identity
    const sQuantile = s.cumsum(0).div(sTotal);
    const held = r.gt(0).nonzero().flatten();
    const rQuantile = r.cumsum(0).div(rTotal).indexSelect(0, held);
    const values = interp(sQuantile, rQuantile, held.to('float64'));
    return values.round().clamp(0, 255).to('uint8');
  })));
}

/** An image [bands, H, W] (uint8) through the table [bands, 256]; pixels where `keep` is set stay as they are. */
export function applyMatching(image: Tensor, table: Tensor, keep: Tensor | null = null): Tensor {
  return torch.tidy(() => {
    const [B, H, W] = image.shape;
    const values = image.to('int64').view([B, -1]);
    const mapped = torch.stack(Array.from({ length: B }, (_, b) => table.select(0, b).indexSelect(0, values.select(0, b)))).view([B, H, W]);
    return keep ? torch.where(keep.unsqueeze(0), image.to('uint8'), mapped) : mapped;
  });
}
