// Evaluation maps: for each evaluated scene, the image, prediction, confidence and truth as
// georeferenced COGs, written from the streamed rows, plus a map.json that the viewer (geoseg serve) opens as one map. The maps
// folder is built in a temporary sibling and swapped in when complete, with eval.json (the
// evaluation's summary) as the marker that lets a later --overwrite replace it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { DType } from '@geoseg/torch';
import type { DatasetJson } from '../data/dataset.js';
import type { SceneTiles } from '../data/scene-tiles.js';
import { checkOutputFolder, swapInFolder, tempSibling } from '../outputs.js';
import { writeMapManifest } from '../map-manifest.js';
import { CLASSES_METADATA_KEY, StripWriter, type Rgba, type WriteOptions } from '../raster/index.js';
import type { EvalUnit, UnitSink } from './evaluate.js';

export const MAPS_MARKER = 'eval.json';

/** Checks the maps folder `root` (replaced only with overwrite, and only if it holds maps) and returns an empty folder to build it in (its parent folders are made). */
export function beginEvalMaps(root: string, overwrite: boolean): string {
  checkOutputFolder(root, MAPS_MARKER, 'folder of evaluation maps', overwrite);
  const tmp = tempSibling(root);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  return tmp;
}

/** Writes the marker (the evaluation's summary) into `tmp` and swaps it in as `root`. */
export function finishEvalMaps(root: string, tmp: string, overwrite: boolean, summary: unknown): void {
  writeFileSync(join(tmp, MAPS_MARKER), JSON.stringify(summary, null, 1));
  checkOutputFolder(root, MAPS_MARKER, 'folder of evaluation maps', overwrite); // again: it may have appeared meanwhile
  swapInFolder(tmp, root);
}

/** The folder (relative to the maps root) of one unit: the scene id, plus the tile for partial scenes. */
export function unitFolder(ds: DatasetJson, u: EvalUnit): string {
  const id = ds.scenes[u.scene].id.replace(/[^A-Za-z0-9._/-]/g, '_');
  return u.tile === undefined ? id : `${id}/tile_${u.tile}`;
}

/**
 * A sink writing one unit's layers (image, prediction, confidence, truth) under `root` as its
 * rows are finished, and its map.json when done (existing files of the unit are replaced).
 */
export async function evalMapSink(root: string, ds: DatasetJson, u: EvalUnit, tiles: SceneTiles): Promise<UnitSink> {
  const dir = join(root, unitFolder(ds, u));
  mkdirSync(dir, { recursive: true });
  const scene = ds.scenes[u.scene];
  // A scene without georeference gets a pixel grid (y down), so every layer still lines up.
  const gt = scene.geoTransform ?? [0, 1, 0, 0, 0, -1];
  const { x: x0, y: y0, width: W, height: H } = tiles.region;
  const geoTransform = [gt[0] + x0 * gt[1] + y0 * gt[2], gt[1], gt[2], gt[3] + x0 * gt[4] + y0 * gt[5], gt[4], gt[5]];
  const palette: Rgba[] = ds.classes.map((c) => [...c.color, 255] as Rgba);
  const classes = ds.classes.map((c) => ({ id: c.id, name: c.name, color: c.color as [number, number, number] }));
  const common = { geoTransform, crs: scene.crs, overwrite: true };
  const classLayer = { ...common, colorTable: palette, metadata: { [CLASSES_METADATA_KEY]: JSON.stringify(classes) } };
  const writers: StripWriter[] = [];
  const layer = async (name: string, bands: number, dtype: DType, opts: WriteOptions) => {
    const w = await StripWriter.create(join(dir, name), W, H, bands, dtype, opts);
    writers.push(w);
    return w;
  };
  try {
    const image = await layer('image.tif', tiles.bands, tiles.dtype, common);
    const prediction = await layer('prediction.tif', 1, 'uint8', classLayer);
    const confidence = await layer('confidence.tif', 1, 'uint8', common);
    const truth = await layer('truth.tif', 1, 'uint8', { ...classLayer, nodata: ds.ignoreIndex });
    return {
      async rows({ band, truth: labels }) {
        const h = band.y1 - band.y0;
        await torch.tidy(() => image.write(band.y0, tiles.readImage(0, band.y0, W, h)));
        await prediction.write(band.y0, band.classes);
        await confidence.write(band.y0, band.confidence!);
        await truth.write(band.y0, labels);
      },
      async finish() {
        for (const w of writers) await w.finish();
        writeMapManifest(dir, {
          title: u.tile === undefined ? scene.id : `${scene.id} (tile ${u.tile})`,
          classes, ignoreIndex: ds.ignoreIndex,
          layers: { image: 'image.tif', prediction: 'prediction.tif', truth: 'truth.tif', confidence: 'confidence.tif' },
        });
      },
      abort() {
        for (const w of writers) w.abort();
      },
    };
  } catch (e) {
    for (const w of writers) w.abort();
    throw e;
  }
}
