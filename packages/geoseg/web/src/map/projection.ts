// The map shows rasters in their own grid: no basemap (offline) and every layer of a map shares
// one grid, so nothing is reprojected. A raster with an EPSG code keeps it as the projection's
// name; one without a CRS (e.g. a JPEG-derived scene) gets a local pixel projection.
import Projection from 'ol/proj/Projection.js';
import { get as knownProjection } from 'ol/proj.js';
import type { RasterDescription } from '../api.ts';

type Units = 'm' | 'degrees' | 'pixels' | 'ft' | 'us-ft';

function unitsOf(info: RasterDescription): Units {
  if (info.units === 'degrees' || info.units === 'pixels') return info.units;
  if (/us.*(foot|feet)/i.test(info.units)) return 'us-ft';
  if (/foot|feet/i.test(info.units)) return 'ft';
  return 'm';
}

export function projectionOf(info: RasterDescription): Projection {
  if (info.epsg !== null) {
    const known = knownProjection(`EPSG:${info.epsg}`);
    if (known) return known;
  }
  const code = info.epsg !== null ? `EPSG:${info.epsg}` : info.proj4 ? 'geoseg:raster-crs' : 'geoseg:pixels';
  return new Projection({ code, units: unitsOf(info), extent: info.extent });
}

/** Size of a pixel in map units (for zoom limits). */
export function pixelSize(info: RasterDescription): number {
  return (info.extent[2] - info.extent[0]) / info.width;
}

/** Pixel column and row of a map coordinate (integer, may fall outside the raster). */
export function pixelAt(info: RasterDescription, [x, y]: number[]): [number, number] {
  const gt = info.geoTransform;
  if (!gt) return [Math.floor(x), Math.floor(info.height - y)]; // OpenLayers puts an ungeoreferenced raster at [0, 0, w, h]
  // invert the affine geotransform (rotation terms included)
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const dx = x - gt[0], dy = y - gt[3];
  return [Math.floor((gt[5] * dx - gt[2] * dy) / det), Math.floor((gt[1] * dy - gt[4] * dx) / det)];
}
