// Writing rasters: tiled, compressed, georeferenced Cloud-Optimized GeoTIFFs through GDAL's COG
// driver, always to a temporary file in the target folder that is renamed on success, so a
// failed or interrupted write never leaves a partial file at the final path.
import gdal from 'gdal-async';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@geoseg/torch';
import { RasterError } from '../errors.js';
import { writeTypeFor } from './dtypes.js';
import type { Rgba } from './read.js';

/** Metadata item of class rasters (predictions, truth): the classes as JSON [{id, name, color}], so names travel with the file. */
export const CLASSES_METADATA_KEY = 'GEOSEG_CLASSES';

export interface WriteOptions {
  geoTransform?: number[] | null;
  /** CRS as WKT or any string GDAL's SpatialReference understands (e.g. 'EPSG:32640'). */
  crs?: string | null;
  /** NoData value for every band. */
  nodata?: number | null;
  /** Palette for single-band Byte rasters (class colours). */
  colorTable?: Rgba[] | null;
  /** COG compression (default DEFLATE). */
  compress?: 'DEFLATE' | 'LZW' | 'ZSTD' | 'NONE';
  /** Replace an existing file (default false: an existing file is an error). */
  overwrite?: boolean;
  /** Dataset metadata items (kept in the GeoTIFF's GDAL_METADATA tag). */
  metadata?: Record<string, string>;
}

/** Write a [bands, height, width] (or [height, width]) tensor as a COG at `path`. */
export async function writeCog(path: string, data: Tensor, opts: WriteOptions = {}): Promise<void> {
  const shape = data.shape;
  if (shape.length !== 2 && shape.length !== 3) throw new RasterError(`${path}: expected a [bands, height, width] tensor, got shape [${shape.join(', ')}]`);
  const [bands, height, width] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (bands < 1 || height < 1 || width < 1) throw new RasterError(`${path}: empty raster shape [${shape.join(', ')}]`);
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new RasterError(`${path}: folder ${folder} does not exist`);
  if (existsSync(path) && !opts.overwrite) throw new RasterError(`${path}: already exists (pass overwrite to replace it)`);
  let type: ReturnType<typeof writeTypeFor>;
  try {
    type = writeTypeFor(data.dtype);
  } catch (e) {
    throw new RasterError(`${path}: ${(e as Error).message}`);
  }
  const tmp = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const mem = gdal.drivers.get('MEM').create('', width, height, bands, type.gdal);
  try {
    if (opts.geoTransform) mem.geoTransform = opts.geoTransform;
    if (opts.crs) mem.srs = gdal.SpatialReference.fromUserInput(opts.crs);
    if (opts.metadata) mem.setMetadata(opts.metadata);
    const cpu = data.to({ dtype: type.dtype, device: 'cpu' }).contiguous().reshape([bands, height * width]);
    try {
      for (let b = 0; b < bands; b++) {
        const band = mem.bands.get(b + 1);
        const plane = cpu.select(0, b);
        const values = plane.data() as ArrayLike<number>;
        plane.dispose();
        await band.pixels.writeAsync(0, 0, width, height, values as any);
        if (opts.nodata !== undefined && opts.nodata !== null) band.noDataValue = opts.nodata;
        if (b === 0 && opts.colorTable) {
          const table = new gdal.ColorTable(gdal.GPI_RGB);
          opts.colorTable.forEach(([r, g, bl, a], i) => table.set(i, { c1: r, c2: g, c3: bl, c4: a }));
          band.colorTable = table;
        }
      }
    } finally {
      cpu.dispose();
    }
    const out = await gdal.drivers.get('COG').createCopyAsync(tmp, mem, { COMPRESS: opts.compress ?? 'DEFLATE', BLOCKSIZE: '512' });
    out.close();
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e instanceof RasterError ? e : new RasterError(`${path}: cannot write (${(e as Error).message})`);
  } finally {
    mem.close();
  }
}
