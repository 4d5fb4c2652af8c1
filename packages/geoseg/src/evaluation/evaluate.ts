// Evaluation on whole scenes: each validation scene is streamed from its tiles through the same
// window grid and blender as `geoseg predict` (windows, blending, TTA, nodata), and its finished
// rows are compared with the labels of the same rows in one confusion matrix. Memory holds the
// blender's buffers and about one window row of tiles, whatever the scene's size.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import type { DatasetJson } from '../data/dataset.js';
import { SceneTiles, type Region } from '../data/scene-tiles.js';
import type { WindowOptions } from '../infer/window-predict.js';
import { blendRows, type RowBand } from '../infer/stream-blend.js';
import { stridedWindowGrid, windowGrid } from '../infer/window-grid.js';
import type { Normalization } from '../infer/normalize.js';
import { ConfusionMatrix, segmentationMetrics } from '../metrics/index.js';
import { SegmentationModel } from '../models/index.js';
import type { WindowModel } from '../models/window-model.js';

/** An evaluation unit: a whole scene (all its tiles in validation), or a single tile. */
export interface EvalUnit {
  scene: number;
  /** Tile id when the split put only some of a scene's tiles in validation. */
  tile?: number;
}

/** Whole scenes where the split put every tile in validation; leftover validation tiles alone. */
export function evalUnits(ds: DatasetJson, valTiles: number[]): EvalUnit[] {
  const val = new Set(valTiles);
  const units: EvalUnit[] = [];
  ds.scenes.forEach((_, s) => {
    const tiles = ds.tiles.filter((t) => t.scene === s);
    const inVal = tiles.filter((t) => val.has(t.id));
    if (inVal.length === 0) return;
    if (inVal.length === tiles.length) units.push({ scene: s });
    else for (const t of inVal) units.push({ scene: s, tile: t.id });
  });
  return units;
}

/** The scene pixels a unit covers. */
export function unitRegion(ds: DatasetJson, u: EvalUnit): Region {
  const sc = ds.scenes[u.scene];
  if (u.tile === undefined) return { x: 0, y: 0, width: sc.width, height: sc.height };
  const t = ds.tiles[u.tile];
  return { x: t.x, y: t.y, width: Math.min(ds.tileSize, sc.width - t.x), height: Math.min(ds.tileSize, sc.height - t.y) };
}

export interface EvalResult {
  matrix: number[][];
  metrics: ReturnType<typeof segmentationMetrics>;
  scenes: number;
  seconds: number;
}

/** Finished rows of a unit: the blended band and the labels of its rows (ignore at nodata). */
export interface UnitRows {
  band: RowBand;
  truth: Tensor;
}

/** Takes a unit's rows as they are finished (e.g. evaluation maps). */
export interface UnitSink {
  rows(r: UnitRows): Promise<void>;
  finish(): Promise<void>;
  abort(): void;
}

export interface EvalHooks {
  /** Called after each unit. */
  onUnit?: (done: number, unit: EvalUnit) => void | Promise<void>;
  /** A sink for a unit's rows, made before its first row from the unit's tiles (the sink may read their image); asks for the confidence too. */
  sink?: (unit: EvalUnit, tiles: SceneTiles) => Promise<UnitSink>;
}

/** Streams one unit's rows into `cm` (and the hooks' sink). */
async function evaluateUnit(model: WindowModel, folder: string, ds: DatasetJson, u: EvalUnit, norm: Normalization, opts: WindowOptions,
  cm: ConfusionMatrix, hooks: EvalHooks): Promise<void> {
  const region = unitRegion(ds, u);
  const tiles = new SceneTiles(folder, ds, u.scene, region);
  let sink: UnitSink | null = null;
  try {
    sink = hooks.sink ? await hooks.sink(u, tiles) : null;
    const rows = blendRows(model, {
      ...opts, grid: opts.stride ? stridedWindowGrid(region.width, region.height, opts.window, opts.stride) : windowGrid(region.width, region.height, opts.window, opts.overlap),
      classes: ds.classes.length, norm,
      // Tiles hold no declared nodata; NaN or infinite pixels of float scenes are nodata (not scored).
      nodata: { value: null, nonFinite: tiles.dtype.startsWith('float') }, confidence: sink !== null,
      read: async (x, y, w, h) => tiles.readImage(x, y, w, h),
    });
    for await (const band of rows) {
      const truth = torch.tidy(() => {
        const labels = tiles.readMask(0, band.y0, region.width, band.y1 - band.y0);
        return band.nodata ? labels.maskedFill_(band.nodata, ds.ignoreIndex) : labels;
      });
      try {
        cm.update(band.classes, truth);
        await sink?.rows({ band, truth });
      } finally {
        truth.dispose();
      }
    }
    await sink?.finish();
  } catch (e) {
    sink?.abort();
    throw e;
  } finally {
    tiles.close();
  }
}

/**
 * Evaluates `model` on units of a prepared dataset: one confusion matrix over every unit's
 * pixels (the model is in eval mode meanwhile, then back in its mode).
 */
export async function evaluate(model: WindowModel, folder: string, ds: DatasetJson, units: EvalUnit[], norm: Normalization, opts: WindowOptions,
  hooks: EvalHooks = {}): Promise<EvalResult> {
  const started = Date.now();
  // a geoseg model has modes (a TorchScript model is in eval mode already)
  const modal = model instanceof SegmentationModel ? model : null;
  const wasTraining = modal?.training ?? false;
  modal?.eval();
  const cm = new ConfusionMatrix(ds.classes.length, ds.ignoreIndex);
  try {
    for (const [i, u] of units.entries()) {
      await evaluateUnit(model, folder, ds, u, norm, opts, cm, hooks);
      await hooks.onUnit?.(i + 1, u);
    }
    const matrix = cm.toArray();
    return { matrix, metrics: segmentationMetrics(matrix, ds.classes.map((c) => c.name)), scenes: units.length, seconds: (Date.now() - started) / 1000 };
  } finally {
    cm.dispose();
    modal?.train(wasTraining);
  }
}
