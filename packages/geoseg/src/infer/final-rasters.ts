// The finished rasters of a prediction: class counts of a class raster, and the COGs made from
// the work folder's mosaics (palette, nodata, class metadata), fsync'd before they are renamed
// into place.
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { fsyncPath } from '../durable.js';

export async function withDataset<T>(path: string, fn: (ds: gdal.Dataset) => Promise<T>): Promise<T> {
  const ds = await gdal.openAsync(path);
  try {
    return await fn(ds);
  } finally {
    ds.close();
  }
}

/** Pixels per class id 0 … K − 1 of a uint8 class tensor, added into `counts`. */
export function addClassCounts(counts: Float64Array, classes: torch.Tensor): void {
  torch.tidy(() => {
    // bincount of the uint8 ids themselves: no int64 copy of a band (50 MB for 16384 columns)
    const c = torch.bincount(classes.reshape([-1]), null, 256).narrow(0, 0, counts.length).data() as BigInt64Array;
    c.forEach((n, k) => { counts[k] += Number(n); });
  });
}

/** Pixels per class of a class raster, in strips. */
export async function countRaster(ds: gdal.Dataset, K: number): Promise<Float64Array> {
  const { x: W, y: H } = ds.rasterSize;
  const counts = new Float64Array(K);
  for (let y = 0; y < H; y += 512) {
    const h = Math.min(512, H - y);
    const data = await ds.bands.get(1).pixels.readAsync(0, y, W, h, new Uint8Array(W * h));
    torch.tidy(() => addClassCounts(counts, torch.tensor(data as Uint8Array)));
  }
  return counts;
}

/**
 * A finished raster (the chunks' mosaic or a post-processed GeoTIFF) → a COG at `path` in the work
 * folder (to become `final`), fsync'd, with palette / nodata / metadata when given. Returns `path`.
 */
export async function toCog(src: string, path: string, final: string, { palette, nodata, metadata }: { palette?: [number, number, number][]; nodata?: number | null; metadata?: Record<string, string> }): Promise<string> {
  const ds = await gdal.openAsync(src, 'r+');
  try {
    if (metadata) ds.setMetadata(metadata);
    const band = ds.bands.get(1);
    if (nodata !== null && nodata !== undefined) for (let b = 1; b <= ds.bands.count(); b++) ds.bands.get(b).noDataValue = nodata;
    if (palette) {
      const table = new gdal.ColorTable(gdal.GPI_RGB);
      for (let i = 0; i < 256; i++) {
        const [r, g, b] = palette[i] ?? [0, 0, 0];
        table.set(i, { c1: r, c2: g, c3: b, c4: i < palette.length ? 255 : 0 });
      }
      band.colorTable = table;
    }
    ds.flush();
    try {
      const out = await gdal.drivers.get('COG').createCopyAsync(path, ds, { COMPRESS: 'DEFLATE', BLOCKSIZE: '512', OVERVIEW_RESAMPLING: palette ? 'MODE' : 'AVERAGE', BIGTIFF: 'IF_SAFER' });
      out.close();
      fsyncPath(path);
    } catch (e) {
      throw new GeosegError(`${final}: cannot write (${(e as Error).message})`);
    }
  } finally {
    ds.close();
  }
  return path;
}
