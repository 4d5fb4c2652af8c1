// Vector labels (GeoJSON, GeoPackage, Shapefile polygons with a class attribute) burnt onto a
// scene's pixel grid with GDAL's rasterizer. GDAL reprojects the polygons when their CRS differs
// from the scene's.
import gdal from 'gdal-async';
import { RasterError } from '../errors.js';
import { failOnGdalMessages, gdalMark } from './gdal-messages.js';

/** A scene's pixel grid. */
export interface Grid {
  width: number;
  height: number;
  geoTransform: number[] | null;
  crs: string | null;
}

export interface RasterizeOptions {
  /** Feature attribute holding the class (a source id or a class name). */
  attribute: string;
  /** The class id an attribute value stands for, or undefined when it is not in the table. */
  classOf: (value: string | number) => number | undefined;
  /** Value of pixels no polygon covers (a class id or the ignore index). */
  background: number;
}

export interface RasterizeResult {
  /** Features whose attribute value is not in the class table (not burnt), by value. */
  unknown: Record<string, number>;
  features: number;
}

/** Burn the polygons of `vectorPath` into a new single-band Byte GeoTIFF `out` on `grid`. */
export async function rasterizeVector(vectorPath: string, grid: Grid, out: string, opts: RasterizeOptions): Promise<RasterizeResult> {
  if (!grid.geoTransform || !grid.crs) throw new RasterError(`${vectorPath}: vector labels need a georeferenced scene (the image has no ${grid.crs ? 'geotransform' : 'CRS'})`);
  let src: gdal.Dataset;
  const mark = gdalMark();
  try {
    src = await gdal.openAsync(vectorPath);
  } catch (e) {
    throw new RasterError(`${vectorPath}: cannot open as a vector file (${(e as Error).message})`);
  }
  try {
    if (src.layers.count() === 0) throw new RasterError(`${vectorPath}: has no vector layers`);
    // Attribute value → class id, over every feature of every layer.
    const byClass = new Map<number, { layer: string; numeric: boolean; values: (string | number)[] }[]>();
    const unknown: Record<string, number> = {};
    let features = 0;
    for (let l = 0; l < src.layers.count(); l++) {
      const layer = src.layers.get(l);
      const field = layer.fields.getNames().indexOf(opts.attribute);
      if (field < 0) throw new RasterError(`${vectorPath}: layer ${layer.name} has no attribute '${opts.attribute}' (it has: ${layer.fields.getNames().join(', ') || 'none'})`);
      const type = layer.fields.get(field).type;
      const numeric = type === 'integer' || type === 'integer64' || type === 'real';
      const seen = new Map<string | number, number | undefined>();
      for (const f of layer.features) {
        features++;
        const v = f.fields.get(opts.attribute) as string | number | null;
        if (v === null || v === undefined) continue;
        if (!seen.has(v)) seen.set(v, opts.classOf(v));
        const id = seen.get(v);
        if (id === undefined) unknown[String(v)] = (unknown[String(v)] ?? 0) + 1;
      }
      for (const [v, id] of seen) {
        if (id === undefined) continue;
        const groups = byClass.get(id) ?? [];
        const g = groups.find((x) => x.layer === layer.name) ?? (groups.push({ layer: layer.name, numeric, values: [] }), groups[groups.length - 1]);
        g.values.push(v);
        byClass.set(id, groups);
      }
    }
    const dst = gdal.open(out, 'w', 'GTiff', grid.width, grid.height, 1, 'Byte', ['TILED=YES', 'COMPRESS=DEFLATE']);
    try {
      dst.geoTransform = grid.geoTransform;
      dst.srs = gdal.SpatialReference.fromUserInput(grid.crs);
      await dst.bands.get(1).fillAsync(opts.background);
      for (const [id, groups] of byClass) {
        for (const { layer, numeric, values } of groups) {
          const list = values.map((v) => (numeric ? String(v) : `'${String(v).replace(/'/g, "''")}'`)).join(',');
          await gdal.rasterizeAsync(dst, src, ['-l', layer, '-burn', String(id), '-where', `"${opts.attribute}" IN (${list})`]);
        }
      }
      dst.flush();
    } finally {
      dst.close();
    }
    failOnGdalMessages(mark, vectorPath, 'reading and rasterizing it');
    return { unknown, features };
  } catch (e) {
    throw e instanceof RasterError ? e : new RasterError(`${vectorPath}: cannot rasterize (${(e as Error).message})`);
  } finally {
    src.close();
  }
}
