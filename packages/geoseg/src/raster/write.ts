// Writing rasters: tiled, compressed, georeferenced Cloud-Optimized GeoTIFFs through GDAL's COG
// driver, always to a temporary file in the target folder that is renamed on success, so a
// failed or interrupted write never leaves a partial file at the final path.
import gdal from 'gdal-async';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DType, Tensor } from '@geoseg/torch';
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

/** Sets georeference, metadata, nodata (every band) and the palette (band 1) of `ds`. */
export function describeDataset(ds: gdal.Dataset, opts: WriteOptions): void {
  if (opts.geoTransform) ds.geoTransform = opts.geoTransform;
  if (opts.crs) ds.srs = gdal.SpatialReference.fromUserInput(opts.crs);
  if (opts.metadata) ds.setMetadata(opts.metadata);
  for (let b = 1; b <= ds.bands.count(); b++) {
    const band = ds.bands.get(b);
    if (opts.nodata !== undefined && opts.nodata !== null) band.noDataValue = opts.nodata;
    if (b === 1 && opts.colorTable) {
      const table = new gdal.ColorTable(gdal.GPI_RGB);
      opts.colorTable.forEach(([r, g, bl, a], i) => table.set(i, { c1: r, c2: g, c3: bl, c4: a }));
      band.colorTable = table;
    }
  }
}

/** [bands, height, width] of a [bands, height, width] or [height, width] tensor shape, checked. */
export function rasterShape(path: string, shape: number[]): [number, number, number] {
  if (shape.length !== 2 && shape.length !== 3) throw new RasterError(`${path}: expected a [bands, height, width] tensor, got shape [${shape.join(', ')}]`);
  const [bands, height, width] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (bands < 1 || height < 1 || width < 1) throw new RasterError(`${path}: empty raster shape [${shape.join(', ')}]`);
  return [bands, height, width];
}

/** Checks that `path` may be written (its folder exists; an existing file only with overwrite) and returns the GDAL type of `dtype`. */
export function checkWritable(path: string, dtype: DType, overwrite: boolean | undefined): ReturnType<typeof writeTypeFor> {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new RasterError(`${path}: folder ${folder} does not exist`);
  if (existsSync(path) && !overwrite) throw new RasterError(`${path}: already exists (pass overwrite to replace it)`);
  try {
    return writeTypeFor(dtype);
  } catch (e) {
    throw new RasterError(`${path}: ${(e as Error).message}`);
  }
}

/** A temporary file name beside `path`. */
export const tempBeside = (path: string, what: string) => join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.${what}`);

/** Writes rows [y, y + h) of every band of `ds` from a [bands, h, width] (or [h, width]) tensor. */
export async function writeRows(ds: gdal.Dataset, y: number, data: Tensor, type: ReturnType<typeof writeTypeFor>): Promise<void> {
  const [bands, height, width] = rasterShape(ds.description, data.shape);
  const cpu = data.to({ dtype: type.dtype, device: 'cpu' }).contiguous().reshape([bands, height * width]);
  try {
    for (let b = 0; b < bands; b++) {
      const plane = cpu.select(0, b);
      const values = plane.data() as ArrayLike<number>;
      plane.dispose();
      await ds.bands.get(b + 1).pixels.writeAsync(0, y, width, height, values as any);
    }
  } finally {
    cpu.dispose();
  }
}

/** `src` as a COG at `path` (through a temporary file renamed on success). */
export async function copyToCog(src: gdal.Dataset, path: string, compress: WriteOptions['compress']): Promise<void> {
  const tmp = tempBeside(path, 'tmp');
  try {
    const out = await gdal.drivers.get('COG').createCopyAsync(tmp, src, { COMPRESS: compress ?? 'DEFLATE', BLOCKSIZE: '512', BIGTIFF: 'IF_SAFER' });
    out.close();
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Write a [bands, height, width] (or [height, width]) tensor as a COG at `path`. */
export async function writeCog(path: string, data: Tensor, opts: WriteOptions = {}): Promise<void> {
  const [bands, height, width] = rasterShape(path, data.shape);
  const type = checkWritable(path, data.dtype, opts.overwrite);
  const mem = gdal.drivers.get('MEM').create('', width, height, bands, type.gdal);
  try {
    describeDataset(mem, opts);
    await writeRows(mem, 0, data, type);
    await copyToCog(mem, path, opts.compress);
  } catch (e) {
    throw e instanceof RasterError ? e : new RasterError(`${path}: cannot write (${(e as Error).message})`);
  } finally {
    mem.close();
  }
}
