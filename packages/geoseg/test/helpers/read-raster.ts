// Whole rasters read back as bytes, for tests that compare outputs pixel by pixel.
import gdal from 'gdal-async';

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
