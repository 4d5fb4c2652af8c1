// What the viewer needs to know about a raster before it streams it: size, bands, grid, CRS
// (EPSG code and proj4 text), nodata, palette and class names, read through GDAL.
import { stat } from 'node:fs/promises';
import gdal from 'gdal-async';
import { CLASSES_METADATA_KEY } from '../raster/write.js';
import { HttpError } from './http-error.js';

export interface RasterDescription {
  width: number;
  height: number;
  bands: number;
  dataTypes: string[];
  nodata: (number | null)[];
  /** GDAL geotransform, or null for a raster with no georeference. */
  geoTransform: number[] | null;
  /** [minX, minY, maxX, maxY] in CRS units; a raster without geotransform spans [0, 0, width, height]. */
  extent: [number, number, number, number];
  epsg: number | null;
  proj4: string | null;
  /** 'm', 'degrees', another linear unit name, or 'pixels' when there is no CRS. */
  units: string;
  colorTable: [number, number, number, number][] | null;
  /** Classes stored in the metadata of class rasters ([{id, name, color}]), or null. */
  classes: { id: number; name: string; color: [number, number, number] }[] | null;
  /**
   * Per band, the values drawn as black and white for imagery that is not 8-bit (16-bit or float
   * scenes would look black scaled by their type's range): the 2nd and 98th percentiles of a
   * decimated read, nodata excluded. Null for Byte rasters.
   */
  displayRange: { min: number[]; max: number[] } | null;
}

/** Side of the decimated read the display range is taken from. */
const RANGE_SAMPLE = 512;

/**
 * The only GDAL drivers tried: the viewer's formats (a COG is a GeoTIFF, read by GTiff). GDAL can
 * open much more (VRTs and other files that point at further files, URLs, databases), none of which
 * a file from the roots should be able to make the server read.
 */
const RASTER_DRIVERS = ['GTiff', 'PNG', 'JPEG'];

export async function describeRaster(path: string, shownAs: string): Promise<RasterDescription> {
  // only regular files: a FIFO or device could block a GDAL thread, a folder is a dataset to some drivers
  const stats = await stat(path).catch(() => { throw new HttpError(404, `not found: ${shownAs}`); });
  if (!stats.isFile()) throw new HttpError(422, `${shownAs}: not a file`);
  let ds: gdal.Dataset;
  try {
    ds = await gdal.openAsync(path, 'r', RASTER_DRIVERS);
  } catch (e) {
    throw new HttpError(422, `${shownAs}: cannot open as a raster (${firstLine(e)})`);
  }
  try {
    const { x: width, y: height } = ds.rasterSize;
    const count = ds.bands.count();
    if (width <= 0 || count === 0) throw new HttpError(422, `${shownAs}: not a raster (no pixels or no bands)`);
    const bands = Array.from({ length: count }, (_, i) => ds.bands.get(i + 1));
    const geoTransform = ds.geoTransform ?? null;
    const table = bands[0].colorTable;
    return {
      width, height, bands: count,
      dataTypes: bands.map((b) => b.dataType ?? 'Unknown'),
      nodata: bands.map((b) => b.noDataValue ?? null),
      geoTransform,
      extent: geoTransform ? extentOf(geoTransform, width, height) : [0, 0, width, height],
      ...crsOf(ds.srs),
      colorTable: table ? Array.from({ length: Math.min(table.count(), 256) }, (_, i) => { const c = table.get(i); return [c.c1, c.c2, c.c3, c.c4] as [number, number, number, number]; }) : null,
      classes: classesOf(ds.getMetadata()?.[CLASSES_METADATA_KEY]),
      displayRange: bands.every((b) => b.dataType === 'Byte') ? null : await displayRangeOf(bands.slice(0, 3), width, height),
    };
  } catch (e) {
    throw e instanceof HttpError ? e : new HttpError(422, `${shownAs}: cannot read (${firstLine(e)})`);
  } finally {
    ds.close();
  }
}

async function displayRangeOf(bands: gdal.RasterBand[], width: number, height: number): Promise<{ min: number[]; max: number[] }> {
  // GDAL decimates (from overviews when the file has them), so this reads at most 512² pixels per band
  const w = Math.min(width, RANGE_SAMPLE), h = Math.min(height, RANGE_SAMPLE);
  const min: number[] = [], max: number[] = [];
  for (const band of bands) {
    const values = await band.pixels.readAsync(0, 0, width, height, undefined, { buffer_width: w, buffer_height: h, type: 'Float64' }) as Float64Array;
    const nodata = band.noDataValue;
    const kept = values.filter((v) => Number.isFinite(v) && v !== nodata).sort();
    const at = (q: number) => kept[Math.min(kept.length - 1, Math.floor(q * kept.length))];
    const lo = kept.length ? at(0.02) : 0, hi = kept.length ? at(0.98) : 1;
    min.push(lo);
    max.push(hi > lo ? hi : lo + 1);
  }
  return { min, max };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** Bounding box of the four corners (rotation terms included). */
function extentOf(gt: number[], width: number, height: number): [number, number, number, number] {
  const xs: number[] = [], ys: number[] = [];
  for (const [px, py] of [[0, 0], [width, 0], [0, height], [width, height]]) {
    xs.push(gt[0] + px * gt[1] + py * gt[2]);
    ys.push(gt[3] + px * gt[4] + py * gt[5]);
  }
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function crsOf(srs: gdal.SpatialReference | null): Pick<RasterDescription, 'epsg' | 'proj4' | 'units'> {
  if (!srs) return { epsg: null, proj4: null, units: 'pixels' };
  try {
    srs.autoIdentifyEPSG();
  } catch { /* no EPSG code: the proj4 text still describes it */ }
  const code = srs.getAuthorityCode(null);
  let proj4: string | null = null;
  try {
    proj4 = srs.toProj4();
  } catch { /* not expressible in proj4 */ }
  const linear = srs.getLinearUnits()?.units;
  const units = srs.isGeographic() ? 'degrees' : linear === 'metre' || linear === 'Meter' ? 'm' : (linear ?? 'm');
  return { epsg: code ? Number(code) : null, proj4, units };
}

function classesOf(text: unknown): RasterDescription['classes'] {
  if (typeof text !== 'string') return null;
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
