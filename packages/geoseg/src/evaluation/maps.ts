// Evaluation maps: for each evaluated scene, the image, prediction, confidence and truth as
// georeferenced COGs plus a map.json that the viewer (geoseg serve) opens as one map. The maps
// folder is built in a temporary sibling and swapped in when complete, with eval.json (the
// evaluation's summary) as the marker that lets a later --overwrite replace it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { DatasetJson } from '../data/dataset.js';
import { checkOutputFolder, swapInFolder, tempSibling } from '../outputs.js';
import { writeMapManifest, type MapManifest } from '../map-manifest.js';
import { CLASSES_METADATA_KEY, writeCog, type Rgba } from '../raster/index.js';
import type { EvalUnit, UnitPrediction } from './evaluate.js';

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

/** Write one unit's layers and map.json under `root` (existing files of the unit are replaced). */
export async function writeEvalMap(root: string, ds: DatasetJson, u: EvalUnit, p: UnitPrediction): Promise<string> {
  const dir = join(root, unitFolder(ds, u));
  mkdirSync(dir, { recursive: true });
  const scene = ds.scenes[u.scene];
  const tile = u.tile === undefined ? null : ds.tiles[u.tile];
  // A scene without georeference gets a pixel grid (y down), so every layer still lines up.
  const gt = scene.geoTransform ?? [0, 1, 0, 0, 0, -1];
  const [x0, y0] = tile ? [tile.x, tile.y] : [0, 0];
  const geoTransform = [gt[0] + x0 * gt[1] + y0 * gt[2], gt[1], gt[2], gt[3] + x0 * gt[4] + y0 * gt[5], gt[4], gt[5]];
  const palette: Rgba[] = ds.classes.map((c) => [...c.color, 255] as Rgba);
  const classes = ds.classes.map((c) => ({ id: c.id, name: c.name, color: c.color as [number, number, number] }));
  const common = { geoTransform, crs: scene.crs, overwrite: true };
  const classMeta = { [CLASSES_METADATA_KEY]: JSON.stringify(classes) };
  await writeCog(join(dir, 'image.tif'), p.image, common);
  await torch.tidy(async () => {
    const [conf, cls] = p.probs.max(0);
    await writeCog(join(dir, 'prediction.tif'), cls.to('uint8'), { ...common, colorTable: palette, metadata: classMeta });
    await writeCog(join(dir, 'confidence.tif'), conf.mul(255).round().to('uint8'), common);
  });
  await writeCog(join(dir, 'truth.tif'), p.mask, { ...common, colorTable: palette, nodata: ds.ignoreIndex, metadata: classMeta });
  const manifest: MapManifest = {
    title: u.tile === undefined ? scene.id : `${scene.id} (tile ${u.tile})`,
    classes, ignoreIndex: ds.ignoreIndex,
    layers: { image: 'image.tif', prediction: 'prediction.tif', truth: 'truth.tif', confidence: 'confidence.tif' },
  };
  writeMapManifest(dir, manifest);
  return dir;
}
