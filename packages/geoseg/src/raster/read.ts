// Reading rasters through GDAL: metadata, and windows as tensors without loading whole scenes.
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { RasterError } from '../errors.js';
import { readTypeFor } from './dtypes.js';
import { failOnGdalMessages, gdalMark } from './gdal-messages.js';

export type Rgba = [number, number, number, number];

export interface RasterInfo {
  path: string;
  driver: string;
  width: number;
  height: number;
  bandCount: number;
  /** GDAL data type of each band (e.g. 'Byte', 'UInt16', 'Float32'). */
  dataTypes: string[];
  /** NoData value of each band, or null. */
  nodata: (number | null)[];
  /** Coordinate reference system as WKT, or null when the file has none (plain JPEG/PNG). */
  crs: string | null;
  /** EPSG code when the CRS has one. */
  epsg: number | null;
  /** GDAL geotransform [originX, pixelW, rotX, originY, rotY, pixelH], or null. */
  geoTransform: number[] | null;
  /** First band's palette (palette PNGs, paletted GeoTIFFs), or null. */
  colorTable: Rgba[] | null;
}

export interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ReadOptions {
  /** 1-based band numbers (default: all). */
  bands?: number[];
  /** Value for pixels outside the raster (default: the band's NoData, else 0). */
  fill?: number;
}

/** An open raster. Close it when done (or use `withRaster`). */
export class Raster {
  private constructor(private readonly ds: gdal.Dataset, readonly info: RasterInfo) {}

  static async open(path: string): Promise<Raster> {
    let ds: gdal.Dataset;
    const mark = gdalMark();
    try {
      ds = await gdal.openAsync(path);
    } catch (e) {
      throw new RasterError(`${path}: cannot open as a raster (${(e as Error).message})`);
    }
    try {
      if (ds.rasterSize.x <= 0 || ds.bands.count() === 0) throw new RasterError(`${path}: not a raster (no pixels or no bands)`);
      const info = await describe(path, ds);
      failOnGdalMessages(mark, path, 'opening it');
      return new Raster(ds, info);
    } catch (e) {
      ds.close();
      throw e instanceof RasterError ? e : new RasterError(`${path}: ${(e as Error).message}`);
    }
  }

  /**
   * Read a window as a tensor [bands, height, width]. The window may extend past the raster:
   * those pixels get `fill`. uint8 for Byte bands, int16, int32 (Int32 and UInt16), float32,
   * float64 (UInt32 and wider); with mixed band types, the widest.
   */
  async read(window: Window, { bands, fill }: ReadOptions = {}): Promise<Tensor> {
    const { info } = this;
    const wanted = bands ?? Array.from({ length: info.bandCount }, (_, i) => i + 1);
    for (const b of wanted) {
      if (!Number.isInteger(b) || b < 1 || b > info.bandCount) throw new RasterError(`${info.path}: band ${b} does not exist (the raster has ${info.bandCount})`);
    }
    const { x, y, width, height } = window;
    if (![x, y, width, height].every(Number.isInteger) || width <= 0 || height <= 0) {
      throw new RasterError(`${info.path}: invalid window ${JSON.stringify(window)} (integers, positive size)`);
    }
    const type = widest(wanted.map((b) => readTypeFor(info.dataTypes[b - 1])));
    // The part of the window inside the raster.
    const x0 = Math.max(0, x), y0 = Math.max(0, y);
    const x1 = Math.min(info.width, x + width), y1 = Math.min(info.height, y + height);
    const inside = x1 > x0 && y1 > y0;
    // Every band's pixels first (a GDAL warning during any of them fails the read), then tensors.
    const mark = gdalMark();
    const pixels: (ArrayLike<number> | undefined)[] = [];
    for (const b of wanted) {
      if (!inside) {
        pixels.push(undefined);
        continue;
      }
      try {
        pixels.push(await this.ds.bands.get(b).pixels.readAsync(x0, y0, x1 - x0, y1 - y0, new type.array((x1 - x0) * (y1 - y0)) as any, { type: type.gdal } as any));
      } catch (e) {
        const why = (e as Error).message.replace(`${info.path}, band ${b}: `, ''); // GDAL's message starts with both
        throw new RasterError(`${info.path}: cannot read band ${b} at ${x0},${y0} (${why})`);
      }
    }
    failOnGdalMessages(mark, info.path, `reading ${width} × ${height} pixels at ${x},${y}`);
    const planes = wanted.map((b, i) => torch.tidy(() => {
      const full = torch.full([height, width], fill ?? info.nodata[b - 1] ?? 0, { dtype: type.dtype });
      const band = pixels[i];
      if (band) {
        const part = torch.tensor(band as any, { shape: [y1 - y0, x1 - x0] });
        full.narrow(0, y0 - y, y1 - y0).narrow(1, x0 - x, x1 - x0).copy_(part);
      }
      return full;
    }));
    return torch.tidy(() => {
      const out = torch.stack(planes);
      for (const p of planes) p.dispose();
      return out;
    });
  }

  /**
   * The whole raster averaged down to at most `maxSide` pixels on its longer side, as float32
   * [bands, h, w] (GDAL reads overviews when the file has them). Smaller rasters come at full size.
   */
  async readThumbnail(maxSide: number): Promise<Tensor> {
    const { info } = this;
    const f = Math.min(1, maxSide / Math.max(info.width, info.height));
    const w = Math.max(1, Math.round(info.width * f)), h = Math.max(1, Math.round(info.height * f));
    const mark = gdalMark();
    const planes: Float32Array[] = [];
    for (let b = 1; b <= info.bandCount; b++) {
      try {
        planes.push(await this.ds.bands.get(b).pixels.readAsync(0, 0, info.width, info.height, new Float32Array(w * h), { buffer_width: w, buffer_height: h, type: gdal.GDT_Float32, resampling: gdal.GRA_Average }) as Float32Array);
      } catch (e) {
        throw new RasterError(`${info.path}: cannot read band ${b} (${(e as Error).message})`);
      }
    }
    failOnGdalMessages(mark, info.path, `reading a ${w} × ${h} thumbnail`);
    return torch.tidy(() => torch.stack(planes.map((p) => torch.tensor(p, { shape: [h, w] }))));
  }

  close(): void {
    this.ds.close();
  }
}

function widest(types: ReturnType<typeof readTypeFor>[]): ReturnType<typeof readTypeFor> {
  const order = ['Byte', 'Int16', 'Int32', 'Float32', 'Float64'];
  return types.reduce((a, b) => (order.indexOf(b.gdal) > order.indexOf(a.gdal) ? b : a));
}

async function describe(path: string, ds: gdal.Dataset): Promise<RasterInfo> {
  const bands = Array.from({ length: ds.bands.count() }, (_, i) => ds.bands.get(i + 1));
  const srs = ds.srs;
  let epsg: number | null = null;
  if (srs) {
    try {
      srs.autoIdentifyEPSG();
    } catch { /* no EPSG code: keep the WKT only */ }
    const code = srs.getAuthorityCode(null);
    epsg = code ? Number(code) : null;
  }
  const table = bands[0].colorTable;
  const colorTable: Rgba[] | null = table
    ? Array.from({ length: table.count() }, (_, i) => { const c = table.get(i); return [c.c1, c.c2, c.c3, c.c4] as Rgba; })
    : null;
  return {
    path,
    driver: ds.driver.description,
    width: ds.rasterSize.x,
    height: ds.rasterSize.y,
    bandCount: bands.length,
    dataTypes: bands.map((b) => b.dataType ?? 'Unknown'),
    nodata: bands.map((b) => b.noDataValue ?? null),
    crs: srs ? srs.toWKT() : null,
    epsg,
    geoTransform: ds.geoTransform ?? null,
    colorTable,
  };
}

/** Open a raster, run fn, close it. */
export async function withRaster<T>(path: string, fn: (r: Raster) => Promise<T>): Promise<T> {
  const r = await Raster.open(path);
  try {
    return await fn(r);
  } finally {
    r.close();
  }
}
