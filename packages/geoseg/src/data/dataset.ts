// The prepared dataset: a folder with dataset.json and one safetensors file per tile
// (`image` [bands, T, T] in the scene's dtype, `mask` [T, T] uint8 class ids).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GeosegError } from '../errors.js';

export interface SceneRecord {
  id: string;
  image: string;
  label: string;
  width: number;
  height: number;
  bands: number;
  crs: string | null;
  epsg: number | null;
  geoTransform: number[] | null;
  /** 'rgb' | 'palette' | 'index' | 'vector' */
  encoding: string;
  /** Pixel size in CRS units of the tiled grid, null without georeference. */
  gsd?: number | null;
  /** The source pixel size when prepare resampled the scene to `gsd` (--gsd), else null. */
  resampledFrom?: number | null;
  /** Pixels per class id over the whole scene (each pixel once). */
  pixels: number[];
  ignored: number;
  /** Pixels of values not in the class table, by '#RRGGBB' or 'id N'. */
  unknown: Record<string, number>;
  /** prepare --align: the label-to-image shift applied (label pixel (x + dx, y + dy) ↔ image pixel (x, y)). */
  alignment?: { dx: number; dy: number; fx: number; fy: number; score: number; unshiftedScore: number };
}

export interface TileRecord {
  id: number;
  scene: number;
  x: number;
  y: number;
  file: string;
  /** Pixels per class id inside this tile (overlapping tiles count shared pixels twice). */
  histogram: number[];
  ignored: number;
}

export interface DatasetJson {
  version: 1;
  createdAt: string;
  classes: { id: number; name: string; color: [number, number, number] }[];
  ignoreIndex: number;
  bands: number;
  dtype: string;
  tileSize: number;
  overlap: number;
  /** Per-band statistics over the valid pixels of all tiles, for input normalization. */
  normalization: { mean: number[]; std: number[] };
  /**
   * Per-band counts of the values over every scene's pixels as tiled (after histogram matching,
   * if any; declared nodata left out), for integer datasets of up to 16 bits (8-bit: all 256
   * values; 16-bit: from histogramsOffset to the largest value held): the distribution
   * `--match-histograms <dataset>` matches new scenes to. Absent in older datasets.
   */
  histograms?: number[][] | null;
  /** The value of histograms[b][0] (absent: 0). 16-bit datasets record the range of values their scenes hold. */
  histogramsOffset?: number;
  /** The reference the scenes were histogram-matched to in prepare (absent: not matched). */
  histogramMatch?: { reference: string } | null;
  scenes: SceneRecord[];
  tiles: TileRecord[];
  split: unknown | null;
  sampling: unknown | null;
}

export function readDataset(folder: string): DatasetJson {
  const file = join(folder, 'dataset.json');
  if (!existsSync(file)) throw new GeosegError(`${folder}: not a prepared dataset (no dataset.json; make one with geoseg prepare)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DatasetJson;
  } catch (e) {
    throw new GeosegError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
