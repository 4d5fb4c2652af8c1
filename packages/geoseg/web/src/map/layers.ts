// OpenLayers layers over COGs (streamed by HTTP range requests): imagery as RGB, class rasters
// through a 256-entry palette (unknown ids and nodata transparent), confidence as a colour ramp.
import GeoTIFF from 'ol/source/GeoTIFF.js';
import WebGLTileLayer from 'ol/layer/WebGLTile.js';
import TileGrid from 'ol/tilegrid/TileGrid.js';
import type Projection from 'ol/proj/Projection.js';
import type { ClassInfo, RasterDescription } from '../api.ts';

type SourceOptions = { bands?: number[]; normalize: boolean; interpolate: boolean; min?: number[]; max?: number[] };

function source(url: string, projection: Projection, o: SourceOptions): GeoTIFF {
  return new GeoTIFF({
    // min/max are indexed by the file's band number - 1
    sources: [{ url, bands: o.bands, min: o.min, max: o.max }],
    normalize: o.normalize,
    interpolate: o.interpolate,
    projection,
    transition: 0, // draw tiles at once (no fade-in)
    wrapX: false,
  });
}

export function imageLayer(url: string, info: RasterDescription, projection: Projection): WebGLTileLayer {
  const bands = info.bands >= 3 ? [1, 2, 3] : [1];
  // with nodata, the source appends an alpha band after the bands it reads
  const alpha = info.nodata[0] !== null ? ['band', bands.length + 1] : 1;
  const color = bands.length === 3
    ? ['array', ['band', 1], ['band', 2], ['band', 3], alpha]
    : ['array', ['band', 1], ['band', 1], ['band', 1], alpha];
  // 16-bit and float imagery is stretched between the server's percentiles (8-bit keeps 0–255)
  const range = info.displayRange ?? undefined;
  return new WebGLTileLayer({ source: source(url, projection, { bands, normalize: true, interpolate: true, min: range?.min, max: range?.max }), style: { color } });
}

/** Colours of class ids 0..255 as [r, g, b, a] (a in 0..1); ids without a class are transparent. */
export function classPalette(classes: ClassInfo[]): number[][] {
  const colors = Array.from({ length: 256 }, () => [0, 0, 0, 0]);
  for (const c of classes) if (c.id >= 0 && c.id < 256) colors[c.id] = [...c.color.slice(0, 3), 1];
  return colors;
}

export function classLayer(url: string, classes: ClassInfo[], projection: Projection): WebGLTileLayer {
  return new WebGLTileLayer({
    source: source(url, projection, { bands: [1], normalize: false, interpolate: false }),
    style: { color: ['palette', ['band', 1], classPalette(classes)] },
  });
}

export function confidenceLayer(url: string, projection: Projection): WebGLTileLayer {
  return new WebGLTileLayer({
    source: source(url, projection, { bands: [1], normalize: false, interpolate: false }),
    // low confidence dark purple → high bright yellow (0..255 = max probability × 255)
    style: { color: ['interpolate', ['linear'], ['band', 1], 0, [68, 1, 84, 1], 128, [33, 145, 140, 1], 255, [253, 231, 37, 1]] },
  });
}

/**
 * Place a raster without CRS onto the map's grid when it has the same size: a raster without
 * geotransform lands at [0, 0, w, h] in OpenLayers while one with GDAL's pixel geotransform
 * [0, 1, 0, 0, 0, -1] spans [0, -h, w, 0], and a map may mix both (e.g. a prediction of a
 * JPEG-derived scene over a GeoTIFF copy of it). The source's tile grid is shifted once it is read.
 */
export function alignToGrid(layer: WebGLTileLayer, info: RasterDescription, reference: RasterDescription): void {
  const [from, to] = [info.extent, reference.extent];
  const crs = info.epsg !== null || info.proj4 !== null;
  if (crs || info.width !== reference.width || info.height !== reference.height || from.every((v, i) => v === to[i])) return;
  const source = layer.getSource() as GeoTIFF;
  const shift = () => {
    if (source.getState() !== 'ready') return;
    source.un('change', shift);
    const grid = source.getTileGrid()!;
    const resolutions = grid.getResolutions();
    const origin = grid.getOrigin(grid.getMinZoom());
    (source as unknown as { tileGrid: TileGrid }).tileGrid = new TileGrid({
      extent: to, minZoom: grid.getMinZoom(), resolutions,
      origin: [origin[0] + to[0] - from[0], origin[1] + to[3] - from[3]],
      tileSizes: resolutions.map((_, z) => grid.getTileSize(z)),
    });
  };
  source.on('change', shift);
}
