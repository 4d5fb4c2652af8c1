// Evaluation on whole scenes: each validation scene is put back together from its tiles,
// predicted with sliding windows (the same code path as `geoseg predict` windows, blending and
// TTA), and compared with its labels in one confusion matrix.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import type { DatasetJson } from '../data/dataset.js';
import { assembleScene } from '../data/scene-tiles.js';
import { predictScene, type WindowOptions } from '../infer/scene-predict.js';
import { ConfusionMatrix, segmentationMetrics } from '../metrics/index.js';
import type { SegmentationModel } from '../models/index.js';

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

export interface Normalization {
  mean: number[];
  std: number[];
}

/** (raw - mean) / std as float32 [bands, H, W]. */
export function normalize(image: Tensor, n: Normalization): Tensor {
  return torch.tidy(() => {
    const b = image.shape[0];
    const mean = torch.tensor(n.mean, { shape: [b, 1, 1] });
    const std = torch.tensor(n.std.map((s) => Math.max(s, 1e-6)), { shape: [b, 1, 1] });
    return image.to('float32').sub(mean).div(std);
  });
}

export interface EvalResult {
  matrix: number[][];
  metrics: ReturnType<typeof segmentationMetrics>;
  scenes: number;
  seconds: number;
}

/** One unit's tensors: image [bands, H, W], truth [H, W], probabilities [C, H, W]. */
export interface UnitPrediction {
  image: Tensor;
  mask: Tensor;
  probs: Tensor;
}

/** Predict one evaluation unit (model in eval mode); the tensors are kept: the caller disposes them. */
export function predictUnit(model: SegmentationModel, folder: string, ds: DatasetJson, u: EvalUnit, norm: Normalization, opts: WindowOptions): UnitPrediction {
  return torch.tidy(() => {
    const scene = assembleScene(folder, ds, u.scene);
    let { image, mask } = scene;
    if (u.tile !== undefined) {
      const t = ds.tiles[u.tile];
      const sc = ds.scenes[u.scene];
      const w = Math.min(ds.tileSize, sc.width - t.x), h = Math.min(ds.tileSize, sc.height - t.y);
      image = image.narrow(1, t.y, h).narrow(2, t.x, w).clone();
      mask = mask.narrow(0, t.y, h).narrow(1, t.x, w);
      scene.image.dispose(); // kept by assembleScene past every scope
    }
    const probs = predictScene(model, normalize(image, norm), opts);
    // Nodata pixels (NaN in the image; NaN probabilities) are not scored.
    mask = mask.maskedFill(probs.select(0, 0).isnan(), ds.ignoreIndex);
    return { image: torch.keep(image), mask: torch.keep(mask), probs: torch.keep(probs) };
  });
}

/** The state of one evaluation: the model in eval mode and one confusion matrix. */
class Evaluation {
  private readonly started = Date.now();
  private readonly wasTraining: boolean;
  private readonly cm: ConfusionMatrix;

  constructor(private readonly model: SegmentationModel, private readonly ds: DatasetJson) {
    this.wasTraining = model.training;
    model.eval();
    this.cm = new ConfusionMatrix(ds.classes.length, ds.ignoreIndex);
  }

  add(p: UnitPrediction): void {
    torch.tidy(() => this.cm.update(p.probs.argmax(0), p.mask));
  }

  result(units: number): EvalResult {
    const matrix = this.cm.toArray();
    return { matrix, metrics: segmentationMetrics(matrix, this.ds.classes.map((c) => c.name)), scenes: units, seconds: (Date.now() - this.started) / 1000 };
  }

  close(): void {
    this.cm.dispose();
    this.model.train(this.wasTraining);
  }
}

const disposeUnit = (p: UnitPrediction) => torch.dispose([p.image, p.mask, p.probs]);

/** Evaluate `model` on units of a prepared dataset (synchronous: used during training). */
export function evaluate(model: SegmentationModel, folder: string, ds: DatasetJson, units: EvalUnit[], norm: Normalization, opts: WindowOptions,
  onUnit?: (done: number) => void): EvalResult {
  const ev = new Evaluation(model, ds);
  try {
    units.forEach((u, i) => {
      const p = predictUnit(model, folder, ds, u, norm, opts);
      try { ev.add(p); } finally { disposeUnit(p); }
      onUnit?.(i + 1);
    });
    return ev.result(units.length);
  } finally {
    ev.close();
  }
}

/** `evaluate`, where `onUnit` also sees each unit's prediction (and may write it) before it is freed. */
export async function evaluateUnits(model: SegmentationModel, folder: string, ds: DatasetJson, units: EvalUnit[], norm: Normalization, opts: WindowOptions,
  onUnit: (done: number, unit: EvalUnit, p: UnitPrediction) => Promise<void>): Promise<EvalResult> {
  const ev = new Evaluation(model, ds);
  try {
    for (const [i, u] of units.entries()) {
      const p = predictUnit(model, folder, ds, u, norm, opts);
      try {
        ev.add(p);
        await onUnit(i + 1, u, p);
      } finally {
        disposeUnit(p);
      }
    }
    return ev.result(units.length);
  } finally {
    ev.close();
  }
}
