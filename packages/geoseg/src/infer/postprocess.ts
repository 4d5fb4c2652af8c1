// Clean-up of a finished class raster, in place, in bounded memory: per-class morphological
// opening / closing (libtorch max-pooling over row strips with a halo), filling holes smaller
// than N pixels inside a class, and removing regions smaller than N pixels (GDAL's sieve, which
// merges each small region into its largest neighbour). Nodata pixels are never changed.
import gdal from 'gdal-async';
import { renameSync, rmSync } from 'node:fs';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';

export interface PostprocessOptions {
  /** Remove connected regions smaller than this many pixels (any class). */
  sieve?: number;
  /** Fill holes (regions of other classes inside a class) smaller than this many pixels. */
  fillHoles?: number;
  /** Morphological opening radius in pixels (removes thin protrusions and specks). */
  open?: number;
  /** Morphological closing radius in pixels (closes thin gaps). */
  close?: number;
  /** Classes that opening, closing and hole filling apply to (default: all, in id order). */
  classes?: number[];
}

const STRIP = 512;

/** Rows y..y+h of a band, columns x..x+width (by default the full width). */
async function readRows(ds: gdal.Dataset, y: number, h: number, band = 1, x = 0, width = ds.rasterSize.x): Promise<Uint8Array> {
  return (await ds.bands.get(band).pixels.readAsync(x, y, width, h, new Uint8Array(width * h))) as Uint8Array;
}

/** Binary dilation / erosion of a float {0,1} mask [1, 1, H, W] with a (2r+1)² square. */
const dilate = (m: Tensor, r: number) => torch.maxPool2d(m, [2 * r + 1, 2 * r + 1], [1, 1], [r, r]);
const erode = (m: Tensor, r: number) => dilate(m.neg().add(1), r).neg().add(1);

/** One strip's classes after opening and closing each class (rows with halo in, all rows out). */
function morphStrip(cls: Tensor, K: number, nodata: number | null, opts: PostprocessOptions): Tensor {
  return torch.tidy(() => {
    let out = cls.clone();
    const valid = nodata === null ? null : cls.ne(nodata);
    const classes = opts.classes ?? Array.from({ length: K }, (_, k) => k);
    for (const c of classes) {
      const m = out.eq(c).to('float32').view([1, 1, ...out.shape]);
      if (opts.open) {
        const opened = dilate(erode(m, opts.open), opts.open);
        const removed = m.gt(opened).view(out.shape);
        // Removed pixels take the most frequent other class around them.
        const onehot = torch.oneHot(out.to('int64').clamp(0, K), K + 1).permute([2, 0, 1]).to('float32').narrow(0, 0, K);
        onehot.select(0, c).zero_();
        const around = torch.avgPool2d(onehot.unsqueeze(0), [2 * opts.open + 1, 2 * opts.open + 1], [1, 1], [opts.open, opts.open]).squeeze(0);
        const replacement = around.argmax(0).to(out.dtype);
        const hasNeighbour = around.amax([0]).gt(0);
        out = torch.where(removed.logicalAnd(hasNeighbour), replacement, out);
      }
      if (opts.close) {
        const m2 = out.eq(c).to('float32').view([1, 1, ...out.shape]);
        const closed = erode(dilate(m2, opts.close), opts.close);
        out = out.maskedFill(closed.gt(m2).view(out.shape), c);
      }
      if (valid) out = torch.where(valid, out, cls);
    }
    return out;
  });
}

async function morphology(path: string, K: number, nodata: number | null, opts: PostprocessOptions): Promise<void> {
  const src = await gdal.openAsync(path);
  const tmp = `${path}.morph.tif`;
  const { x: W, y: H } = src.rasterSize;
  const dst = gdal.drivers.get('GTiff').createCopy(tmp, src, { TILED: 'YES', COMPRESS: 'DEFLATE' });
  try {
    // Classes are processed one after another, each can move an edge by 3·open + 2·close pixels.
    const nClasses = (opts.classes ?? Array.from({ length: K })).length;
    const halo = nClasses * (3 * (opts.open ?? 0) + 2 * (opts.close ?? 0));
    for (let y = 0; y < H; y += STRIP) {
      const h = Math.min(STRIP, H - y);
      const top = Math.max(0, y - halo), bottom = Math.min(H, y + h + halo);
      const data = await readRows(src, top, bottom - top);
      const strip = torch.tidy(() => {
        const cls = torch.tensor(data, { shape: [bottom - top, W] });
        return morphStrip(cls, K, nodata, opts).narrow(0, y - top, h).contiguous();
      });
      await dst.bands.get(1).pixels.writeAsync(0, y, W, h, strip.data() as Uint8Array);
      strip.dispose();
    }
  } finally {
    dst.close();
    src.close();
  }
  renameSync(tmp, path);
}

/**
 * Holes of class c smaller than n pixels become c: sieve the binary c-mask; what it turned to 1 was
 * a small enclosed region. The mask gets a frame of 0s wider than n pixels in area, so a region
 * touching the scene border joins the frame and is never a hole (it may go on outside the scene).
 */
async function fillHoles(path: string, classes: number[], nodata: number | null, n: number): Promise<void> {
  for (const c of classes) {
    const ds = await gdal.openAsync(path, 'r+');
    const binPath = `${path}.holes.tif`;
    const { x: W, y: H } = ds.rasterSize;
    const f = Math.max(1, Math.ceil((n + 1) / (2 * (W + H))));
    const bin = gdal.open(binPath, 'w', 'GTiff', W + 2 * f, H + 2 * f, 2, 'Byte', ['TILED=YES']);
    try {
      for (let y = 0; y < H; y += STRIP) {
        const h = Math.min(STRIP, H - y);
        const data = await readRows(ds, y, h);
        const mask = torch.tidy(() => torch.tensor(data).eq(c).to('uint8').contiguous());
        await bin.bands.get(1).pixels.writeAsync(f, f + y, W, h, mask.data() as Uint8Array);
        mask.dispose();
      }
      await gdal.sieveFilterAsync({ src: bin.bands.get(1), dst: bin.bands.get(2), threshold: n, connectedness: 4 });
      for (let y = 0; y < H; y += STRIP) {
        const h = Math.min(STRIP, H - y);
        const [data, before, after] = await Promise.all([readRows(ds, y, h), readRows(bin, f + y, h, 1, f, W), readRows(bin, f + y, h, 2, f, W)]);
        const out = torch.tidy(() => {
          const cls = torch.tensor(data);
          let filled = torch.tensor(after).gt(torch.tensor(before));
          if (nodata !== null) filled = filled.logicalAnd(cls.ne(nodata));
          return cls.maskedFill(filled, c).contiguous();
        });
        await ds.bands.get(1).pixels.writeAsync(0, y, W, h, out.data() as Uint8Array);
        out.dispose();
      }
    } finally {
      bin.close();
      ds.close();
      rmSync(binPath, { force: true });
    }
  }
}

async function sieve(path: string, nodata: number | null, n: number): Promise<void> {
  const ds = await gdal.openAsync(path, 'r+');
  try {
    const band = ds.bands.get(1);
    if (nodata !== null) band.noDataValue = nodata;
    await gdal.sieveFilterAsync({ src: band, dst: band, mask: nodata === null ? undefined : band.getMaskBand() ?? undefined, threshold: n, connectedness: 8 });
  } finally {
    ds.close();
  }
}

export async function postprocess(path: string, K: number, nodata: number | null, opts: PostprocessOptions): Promise<void> {
  const bad = (opts.classes ?? []).find((c) => !Number.isInteger(c) || c < 0 || c >= K);
  if (bad !== undefined) throw new GeosegError(`post-processing class ${bad} does not exist (the model has classes 0..${K - 1})`);
  if (opts.open || opts.close) await morphology(path, K, nodata, opts);
  if (opts.fillHoles) await fillHoles(path, opts.classes ?? Array.from({ length: K }, (_, k) => k), nodata, opts.fillHoles);
  if (opts.sieve) await sieve(path, nodata, opts.sieve);
}
