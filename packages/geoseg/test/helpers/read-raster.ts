// Whole rasters read back as bytes, for tests that compare outputs pixel by pixel.
import gdal from 'gdal-async';
import type { Tensor } from '@geoseg/torch';
import { Raster } from '../../src/index.js';

/** Every band of an 8-bit raster. */
export function readBands(path: string): Uint8Array[] {
  const ds = gdal.open(path);
  const { x, y } = ds.rasterSize;
  const bands = Array.from({ length: ds.bands.count() }, (_, b) => ds.bands.get(b + 1).pixels.read(0, 0, x, y) as Uint8Array);
  ds.close();
  return bands;
}

/** One band (1-based) of an 8-bit raster. */
export function readBand(path: string, band = 1): Uint8Array {
  const ds = gdal.open(path);
  const { x, y } = ds.rasterSize;
  const out = ds.bands.get(band).pixels.read(0, 0, x, y) as Uint8Array;
  ds.close();
  return out;
}

/** A whole raster as a tensor [bands, H, W] through geoseg's reader. */
export async function readTensor(path: string): Promise<Tensor> {
  const r = await Raster.open(path);
  try {
    return await r.read({ x: 0, y: 0, width: r.info.width, height: r.info.height });
  } finally {
    r.close();
  }
}
