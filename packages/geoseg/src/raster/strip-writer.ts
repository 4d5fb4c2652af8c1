// A COG written row strip by row strip (results streamed down a scene): the strips go into a
// tiled GeoTIFF beside the target, which becomes the COG when every row is written; the target
// never holds a partial file, and memory holds one strip, whatever the raster's size.
import gdal from 'gdal-async';
import { rmSync } from 'node:fs';
import type { DType, Tensor } from '@geoseg/torch';
import { RasterError } from '../errors.js';
import { checkWritable, copyToCog, describeDataset, tempBeside, writeRows, type WriteOptions } from './write.js';

export class StripWriter {
  private constructor(private readonly path: string, private readonly strips: string, private readonly ds: gdal.Dataset,
    private readonly type: ReturnType<typeof checkWritable>, private readonly compress: WriteOptions['compress']) {}

  /** A width × height raster of `bands` bands of `dtype` to be written at `path`. */
  static async create(path: string, width: number, height: number, bands: number, dtype: DType, opts: WriteOptions = {}): Promise<StripWriter> {
    const type = checkWritable(path, dtype, opts.overwrite);
    const strips = tempBeside(path, 'strips.tif');
    const ds = await gdal.openAsync(strips, 'w', 'GTiff', width, height, bands, type.gdal, ['TILED=YES', 'COMPRESS=DEFLATE', 'ZLEVEL=1', 'BIGTIFF=IF_SAFER']);
    describeDataset(ds, opts);
    return new StripWriter(path, strips, ds, type, opts.compress);
  }

  /** Rows [y, y + h) from a [bands, h, width] (or [h, width]) tensor. */
  async write(y: number, data: Tensor): Promise<void> {
    try {
      await writeRows(this.ds, y, data, this.type);
    } catch (e) {
      throw new RasterError(`${this.path}: cannot write rows at ${y} (${(e as Error).message})`);
    }
  }

  /** Makes the COG at the target path from the written strips. */
  async finish(): Promise<void> {
    try {
      this.ds.flush();
      await copyToCog(this.ds, this.path, this.compress);
    } catch (e) {
      throw new RasterError(`${this.path}: cannot write (${(e as Error).message})`);
    } finally {
      this.abort();
    }
  }

  /** Drops the strips (the target is left as it was). */
  abort(): void {
    try { this.ds.close(); } catch { /* closed already */ }
    rmSync(this.strips, { force: true });
  }
}
