// Cross-sensor colour normalisation by histogram matching, band by band (integer imagery of up
// to 16 bits: Byte, UInt16, Int16): each value of a scene goes to the reference's value at the
// same quantile, the rule of skimage.exposure.match_histograms (source quantile = the share of
// pixels ≤ the value; the reference's quantiles interpolated linearly between the values it
// holds), rounded to the scene's type. Histograms are exact counts over every value of the type.
// The reference is a raster (a scene of the sensor the model knows) or a prepared dataset (the
// per-band histograms prepare records of its scenes).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { Raster } from '../raster/index.js';
import { readDataset } from './dataset.js';

/**
 * Per-band counts of every value of an integer type, [bands][size]: counts[b][i] is the number of
 * pixels of band b holding the value lo + i (8-bit: lo 0, size 256).
 */
export interface BandHistograms {
  lo: number;
  counts: number[][];
}

/** The values a band type can hold, as histogram bins. */
export interface HistogramDomain {
  lo: number;
  size: number;
}

/** Rows per strip when a scene is read for its histogram. */
const STRIP_ROWS = 512;

const DOMAINS: Record<string, HistogramDomain> = {
  Byte: { lo: 0, size: 256 },
  UInt16: { lo: 0, size: 65536 },
  Int16: { lo: -32768, size: 65536 },
};

/** The histogram domain of bands of these GDAL types: one integer type of up to 16 bits, else null. */
function domainOf(dataTypes: string[]): HistogramDomain | null {
  return dataTypes.length > 0 && dataTypes.every((t) => t === dataTypes[0]) ? DOMAINS[dataTypes[0]] ?? null : null;
}

/** The histogram domain of a raster's bands; refused unless they are all one integer type of up to 16 bits. */
export function histogramDomain(path: string, dataTypes: string[]): HistogramDomain {
  const domain = domainOf(dataTypes);
  if (!domain) {
    throw new GeosegError(`${path}: histogram matching takes integer bands of up to 16 bits (Byte, UInt16, Int16), all of one type; this raster has ${[...new Set(dataTypes)].join(', ')} bands`);
  }
  return domain;
}

/** Whether a raster's bands can be histogram-matched (histogramDomain would not refuse them). */
export function matchableTypes(dataTypes: string[]): boolean {
  return domainOf(dataTypes) !== null;
}

/** Adds the histograms of an image [bands, H, W] into `into` [bands, size] float64 (values from `lo`); pixels where `skip` is set are left out. */
export function addHistograms(into: Tensor, image: Tensor, lo: number, skip: Tensor | null = null): void {
  torch.tidy(() => {
    const [B, size] = into.shape;
    const values = image.to('int64').view([B, -1]).sub(lo);
    const keep = skip ? skip.logicalNot().flatten() : null;
    for (let b = 0; b < B; b++) {
      const v = keep ? values.select(0, b).maskedSelect(keep) : values.select(0, b);
      into.select(0, b).add_(torch.bincount(v, null, size).to('float64'));
    }
  });
}

/** Whether every band holds the declared nodata value, per pixel [H, W] (null: no nodata declared). */
export function nodataPixels(image: Tensor, nodata: number | null): Tensor | null {
  return nodata === null || Number.isNaN(nodata) ? null : image.eq(nodata).all(0);
}

/** The histograms of a whole raster over its type's values (read in strips; declared nodata left out). */
export async function rasterHistograms(path: string): Promise<BandHistograms> {
  const r = await Raster.open(path);
  try {
    const { lo, size } = histogramDomain(path, r.info.dataTypes);
    const { width, height, bandCount } = r.info;
    const nodata = r.info.nodata.every((v) => v === r.info.nodata[0]) ? r.info.nodata[0] : null;
    const counts = torch.zeros([bandCount, size], { dtype: 'float64' }).keep();
    try {
      for (let y = 0; y < height; y += STRIP_ROWS) {
        const strip = await r.read({ x: 0, y, width, height: Math.min(STRIP_ROWS, height - y) });
        torch.tidy(() => addHistograms(counts, strip, lo, nodataPixels(strip, nodata)));
        strip.dispose();
      }
      return { lo, counts: counts.toArray() as number[][] };
    } finally {
      counts.dispose();
    }
  } finally {
    r.close();
  }
}

/** The reference's histograms: a prepared dataset folder (its recorded histograms) or a raster. */
export async function referenceHistograms(reference: string): Promise<BandHistograms> {
  if (!existsSync(reference)) throw new GeosegError(`${reference}: histogram reference not found (a raster or a prepared dataset folder)`);
  if (statSync(reference).isDirectory()) {
    const ds = readDataset(reference);
    if (!ds.histograms) throw new GeosegError(`${join(reference, 'dataset.json')}: has no band histograms (prepared before they were recorded, or not of integer bands up to 16 bits: prepare it again)`);
    return { lo: ds.histogramsOffset ?? 0, counts: ds.histograms };
  }
  return rasterHistograms(reference);
}

/**
 * Histograms trimmed to the values some band holds (what dataset.json records: 16-bit imagery
 * holds a few thousand of its 65,536 values); 8-bit histograms are kept whole.
 */
export function trimHistograms(h: BandHistograms): BandHistograms {
  if (h.lo === 0 && h.counts[0]?.length === 256) return h;
  const used = h.counts[0].map((_, i) => h.counts.some((band) => band[i] > 0));
  const first = used.indexOf(true), last = used.lastIndexOf(true);
  if (first < 0) return { lo: h.lo, counts: h.counts.map(() => [0]) };
  return { lo: h.lo + first, counts: h.counts.map((band) => band.slice(first, last + 1)) };
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
 * The lookup table [bands, size] taking a scene with histograms `source` (over its type's values
 * from source.lo) to `reference`'s distribution, as values of the scene's type (uint8 for 8-bit,
 * int32 otherwise). Values the scene does not hold map by the same rule (their quantile is the
 * share of pixels below them), so a lookup never fails.
 */
export function matchingTable(source: BandHistograms, reference: BandHistograms): Tensor {
  if (source.counts.length !== reference.counts.length) throw new GeosegError(`histogram matching: the scene has ${source.counts.length} bands, the reference ${reference.counts.length}`);
  const size = source.counts[0].length;
  const byte = source.lo === 0 && size === 256;
  return torch.tidy(() => torch.stack(source.counts.map((src, b) => {
    const s = torch.tensor(src, { dtype: 'float64' }), r = torch.tensor(reference.counts[b], { dtype: 'float64' });
    const sTotal = s.sum().item(), rTotal = r.sum().item();
    let values = torch.arange(source.lo, source.lo + size, { dtype: 'float64' }); // nothing to match: identity
    if (sTotal > 0 && rTotal > 0) {
      const sQuantile = s.cumsum(0).div(sTotal);
      const held = r.gt(0).nonzero().flatten();
      const rQuantile = r.cumsum(0).div(rTotal).indexSelect(0, held);
      values = interp(sQuantile, rQuantile, held.to('float64').add(reference.lo));
    }
    return values.round().clamp(source.lo, source.lo + size - 1).to(byte ? 'uint8' : 'int32');
  })));
}

/**
 * An image [bands, H, W] through the table [bands, size] of values from `lo` (matchingTable);
 * pixels where `keep` is set stay as they are. The result has the image's dtype.
 */
export function applyMatching(image: Tensor, table: Tensor, keep: Tensor | null = null, lo = 0): Tensor {
  return torch.tidy(() => {
    const [B, H, W] = image.shape;
    const size = table.shape[1];
    // (a pixel outside the table's values is a kept one: nodata, left out of the histogram)
    const values = image.to('int64').view([B, -1]).sub(lo).clamp(0, size - 1);
    const mapped = torch.stack(Array.from({ length: B }, (_, b) => table.select(0, b).indexSelect(0, values.select(0, b)))).view([B, H, W]).to(image.dtype);
    return keep ? torch.where(keep.unsqueeze(0), image, mapped) : mapped;
  });
}
