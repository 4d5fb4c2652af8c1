// What prepare actually tiles for a scene: the image and a label raster, after rasterizing vector
// labels onto the image grid and resampling both to a target GSD when asked. Intermediate
// rasters go to a work folder inside prepare's temporary output.
import gdal from 'gdal-async';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { Raster, pixelSize, type Grid, rasterizeVector, resampleToGsd } from '../raster/index.js';
import type { ClassTable } from './classes.js';
import { decodeMask, type UnknownPolicy } from './masks.js';
import { isVector, type ScenePair } from './pairing.js';

export interface VectorLabelOptions {
  /** Feature attribute with the class: a source id (mapped through the table) or a class name. */
  attribute: string;
  /** Class name or id for pixels outside every polygon; default the ignore index. */
  background?: string | number;
}

export interface SceneSource {
  image: string;
  label: string;
  /** True when the label raster already holds final class ids (rasterized or decoded here). */
  labelIsFinal: boolean;
  encoding: string;
  /** Original pixel size when the scene was resampled. */
  resampledFrom: number | null;
  /** Unknown values found while making the label raster (features for vectors, pixels otherwise). */
  unknown: Record<string, number>;
}

/** Class of a vector attribute value: numbers (or digit strings) are source ids, text a class name. */
function vectorClassOf(table: ClassTable): (v: string | number) => number | undefined {
  const byName = new Map(table.classes.map((c) => [c.name.toLowerCase(), c.id]));
  return (v) => (typeof v === 'number' || /^\d+$/.test(v) ? table.idMap.get(Number(v)) : byName.get(v.toLowerCase()));
}

function backgroundId(table: ClassTable, bg: string | number | undefined, where: string): number {
  if (bg === undefined || bg === 'ignore') return table.ignoreIndex;
  const id = typeof bg === 'number' || /^\d+$/.test(bg) ? Number(bg) : table.classes.find((c) => c.name.toLowerCase() === bg.toLowerCase())?.id;
  if (id === undefined || !table.classes.some((c) => c.id === id)) throw new GeosegError(`${where}: background '${bg}' is not a class of the table (give a class name, an id or 'ignore')`);
  return id;
}

/** Decode a raster label to class ids into a GeoTIFF on the same grid, in strips. */
async function decodeToFile(labelPath: string, grid: Grid, out: string, table: ClassTable, unknown: UnknownPolicy, counts: Record<string, number>): Promise<string> {
  const label = await Raster.open(labelPath);
  const { width, height } = label.info;
  const { geoTransform, crs } = grid; // the label lies on its image's grid (sizes are checked)
  const dst = gdal.open(out, 'w', 'GTiff', width, height, 1, 'Byte', ['TILED=YES', 'COMPRESS=DEFLATE']);
  try {
    if (geoTransform) dst.geoTransform = geoTransform;
    if (crs) dst.srs = gdal.SpatialReference.fromWKT(crs);
    const band = dst.bands.get(1);
    band.noDataValue = table.ignoreIndex;
    for (let y = 0; y < height; y += 512) {
      const h = Math.min(512, height - y);
      const mask = await label.read({ x: 0, y, width, height: h });
      const ids = torch.tidy(() => {
        const d = decodeMask(mask, table, { colorTable: label.info.colorTable, unknown, where: labelPath });
        for (const [k, n] of d.unknown) counts[k] = (counts[k] ?? 0) + n;
        return d.index.contiguous().data() as Uint8Array;
      });
      mask.dispose();
      await band.pixels.writeAsync(0, y, width, h, ids);
    }
    return label.info.bandCount >= 3 ? 'rgb' : label.info.colorTable ? 'palette' : 'index';
  } finally {
    dst.close();
    label.close();
  }
}

export async function sceneSource(pair: ScenePair, index: number, work: string, table: ClassTable,
  opts: { gsd?: number; vector?: VectorLabelOptions; unknown: UnknownPolicy }): Promise<SceneSource> {
  const image = await Raster.open(pair.image);
  const grid = { width: image.info.width, height: image.info.height, geoTransform: image.info.geoTransform, crs: image.info.crs };
  image.close();
  const src: SceneSource = { image: pair.image, label: pair.label, labelIsFinal: false, encoding: '', resampledFrom: null, unknown: {} };
  const size = pixelSize(grid.geoTransform);
  if (opts.gsd !== undefined && (!size || !grid.crs)) throw new GeosegError(`${pair.image}: --gsd needs georeferenced scenes (this one has no ${grid.crs ? 'geotransform' : 'CRS'})`);
  const resample = opts.gsd !== undefined && Math.abs(size! - opts.gsd) > 1e-9 * opts.gsd;

  if (isVector(pair.label)) {
    if (!opts.vector) throw new GeosegError(`${pair.label}: vector labels need --attribute (the feature field holding the class)`);
    const out = join(work, `${index}.labels.tif`);
    const r = await rasterizeVector(pair.label, grid, out, {
      attribute: opts.vector.attribute, classOf: vectorClassOf(table), background: backgroundId(table, opts.vector.background, pair.label),
    });
    if (Object.keys(r.unknown).length && opts.unknown === 'error') {
      throw new GeosegError(`${pair.label}: ${opts.vector.attribute} values not in the class table: ${Object.entries(r.unknown).map(([v, n]) => `'${v}' (${n} features)`).join(', ')}`);
    }
    for (const [v, n] of Object.entries(r.unknown)) src.unknown[`${opts.vector.attribute}=${v} (features)`] = n;
    Object.assign(src, { label: out, labelIsFinal: true, encoding: 'vector' });
  } else if (resample) {
    // Class ids are resampled, never colours: decode first.
    const out = join(work, `${index}.labels.tif`);
    src.encoding = await decodeToFile(pair.label, grid, out, table, opts.unknown, src.unknown);
    Object.assign(src, { label: out, labelIsFinal: true });
  }
  if (resample) {
    const label = await Raster.open(src.label);
    const labelSize = { w: label.info.width, h: label.info.height };
    label.close();
    if (labelSize.w !== grid.width || labelSize.h !== grid.height) {
      throw new GeosegError(`${pair.label}: label is ${labelSize.w} × ${labelSize.h} but its image ${pair.image} is ${grid.width} × ${grid.height}`);
    }
    const img = join(work, `${index}.image.tif`);
    const lab = join(work, `${index}.labels.gsd.tif`);
    await resampleToGsd(pair.image, img, opts.gsd!, 'image');
    await resampleToGsd(src.label, lab, opts.gsd!, 'labels', { nodata: table.ignoreIndex, like: img });
    Object.assign(src, { image: img, label: lab, resampledFrom: size });
  }
  return src;
}
