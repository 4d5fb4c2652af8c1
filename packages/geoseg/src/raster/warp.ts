// Resampling a scene to a target ground sampling distance (GDAL warp). Imagery is averaged when
// shrinking and interpolated bilinearly when enlarging; label rasters (class ids) take the most
// frequent class (shrinking) or the nearest pixel (enlarging), never a blend of ids.
import gdal from 'gdal-async';
import { RasterError } from '../errors.js';
import { failOnGdalMessages, gdalMark } from './gdal-messages.js';

export type ResampleKind = 'image' | 'labels';

/** Pixel size (ground units) of a geotransform, or null without one. */
export function pixelSize(geoTransform: number[] | null): number | null {
  if (!geoTransform) return null;
  return Math.sqrt(Math.abs(geoTransform[1] * geoTransform[5] - geoTransform[2] * geoTransform[4]));
}

/** Write `src` resampled to `gsd` ground units per pixel as the GeoTIFF `out`. */
export async function resampleToGsd(src: string, out: string, gsd: number, kind: ResampleKind, opts: { nodata?: number; like?: string } = {}): Promise<void> {
  if (!(gsd > 0)) throw new RasterError(`${src}: target GSD must be positive, got ${gsd}`);
  const mark = gdalMark();
  const ds = await gdal.openAsync(src).catch((e) => { throw new RasterError(`${src}: cannot open (${(e as Error).message})`); });
  try {
    const size = pixelSize(ds.geoTransform ?? null);
    if (!size || !ds.srs) throw new RasterError(`${src}: resampling to a GSD needs a georeferenced raster (geotransform and CRS)`);
    const shrinking = gsd > size;
    const method = kind === 'image' ? (shrinking ? 'average' : 'bilinear') : (shrinking ? 'mode' : 'near');
    const args = ['-of', 'GTiff', '-tr', String(gsd), String(gsd), '-r', method, '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-overwrite'];
    if (opts.like) {
      // Exactly the grid of an already resampled raster (the scene's labels follow its image).
      const like = await gdal.openAsync(opts.like);
      const [x0, dx, , y0, , dy] = like.geoTransform!;
      const { x: w, y: h } = like.rasterSize;
      like.close();
      args.splice(args.indexOf('-tr'), 3, '-ts', String(w), String(h), '-te', String(x0), String(y0 + h * dy), String(x0 + w * dx), String(y0));
    }
    if (opts.nodata !== undefined) args.push('-srcnodata', String(opts.nodata), '-dstnodata', String(opts.nodata));
    const warped = await gdal.warpAsync(out, null, [ds], args);
    warped.close();
    failOnGdalMessages(mark, src, `resampling it to ${gsd}`);
  } catch (e) {
    throw e instanceof RasterError ? e : new RasterError(`${src}: cannot resample to ${gsd} (${(e as Error).message})`);
  } finally {
    ds.close();
  }
}
