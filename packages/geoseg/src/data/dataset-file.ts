// dataset.json as `geoseg split` reads and rewrites it: the parts a split uses, checked (errors
// name the file and the field), and the file written back with every other field as it was.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from '../durable.js';
import { GeosegError } from '../errors.js';
import type { SplitTile } from './split.js';

export interface Loaded {
  file: string;
  raw: string;
  json: Record<string, unknown>;
  classes: { id: number; name: string }[];
  tiles: SplitTile[];
  tileSize?: number;
}

const isCount = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isIndex = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** dataset.json of a prepared dataset folder, parsed (an object), with its text for writing back. */
export function loadDatasetJson(folder: string): { file: string; raw: string; json: Record<string, unknown> } {
  if (!existsSync(folder)) throw new GeosegError(`${folder}: no such dataset folder`);
  if (!statSync(folder).isDirectory()) throw new GeosegError(`${folder}: not a folder (give the prepared dataset folder, which holds dataset.json)`);
  const file = join(folder, 'dataset.json');
  if (!existsSync(file)) throw new GeosegError(`${file}: not found (not a prepared dataset; make one with geoseg prepare)`);
  const raw = readFileSync(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new GeosegError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new GeosegError(`${file}: expected a JSON object`);
  return { file, raw, json: json as Record<string, unknown> };
}

/** Reads and checks the parts of dataset.json a split uses; errors name the file and the field. */
export function loadForSplit(folder: string): Loaded {
  const { file, raw, json } = loadDatasetJson(folder);
  const bad = (what: string) => new GeosegError(`${file}: ${what}`);
  const ds = json;
  if (!Array.isArray(ds.classes) || ds.classes.length === 0) throw bad('classes must be a non-empty array');
  const classes = ds.classes.map((c, i) => {
    const { id, name } = (c ?? {}) as { id?: unknown; name?: unknown };
    if (id !== i) throw bad(`classes[${i}].id must be ${i} (class ids are 0, 1, 2, ... in order)`);
    return { id: i, name: typeof name === 'string' ? name : `class ${i}` };
  });
  const C = classes.length;
  if (!Array.isArray(ds.tiles) || ds.tiles.length === 0) throw bad('tiles must be a non-empty array');
  const scenes = Array.isArray(ds.scenes) ? ds.scenes.length : undefined;
  const seen = new Set<number>();
  const augmented = ds.tiles.filter((t) => (t as { augmented?: unknown })?.augmented !== undefined).length;
  if (augmented > 0 || ds.augmentation) {
    throw bad(`holds ${augmented} tiles added by geoseg augment, copies of training tiles that a new split could put beside their sources in validation; run geoseg augment ${folder} --remove, split, then augment again`);
  }
  const tiles = ds.tiles.map((t, i): SplitTile => {
    const { id, scene, x, y, histogram } = (t ?? {}) as Record<string, unknown>;
    if (!isIndex(id)) throw bad(`tiles[${i}].id must be an integer ≥ 0`);
    if (seen.has(id as number)) throw bad(`tiles[${i}].id ${id} appears twice`);
    seen.add(id as number);
    if (!isIndex(scene) || (scenes !== undefined && (scene as number) >= scenes)) throw bad(`tiles[${i}].scene must index scenes (0..${(scenes ?? 1) - 1})`);
    if (typeof x !== 'number' || typeof y !== 'number') throw bad(`tiles[${i}].x and .y must be numbers`);
    if (!Array.isArray(histogram) || histogram.length !== C || !histogram.every(isCount)) {
      throw bad(`tiles[${i}].histogram must be ${C} pixel counts (one per class)`);
    }
    return { id: id as number, scene: scene as number, x, y, histogram: histogram as number[] };
  });
  const tileSize = typeof ds.tileSize === 'number' && ds.tileSize > 0 ? ds.tileSize : undefined;
  return { file, raw, json: ds, classes, tiles, tileSize };
}

/** Writes `ds.json` back to its file with the indentation and final newline the file had. */
export function writeDatasetJson(ds: { file: string; raw: string; json: unknown }): void {
  const indent = /^\{\r?\n([ \t]+)"/.exec(ds.raw)?.[1];
  writeFileDurable(ds.file, JSON.stringify(ds.json, null, indent) + (ds.raw.endsWith('\n') ? '\n' : ''));
}
