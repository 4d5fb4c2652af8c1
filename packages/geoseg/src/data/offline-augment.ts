// Offline class-balanced augmentation (`geoseg augment`): augmented copies of training tiles rich
// in rare classes, added to a prepared dataset until each class's pixel share reaches a target
// (the plan: balance-plan.ts). The copies are ordinary tiles to the loader, which draws crops
// from them like any training tile (and augments those online as configured).
//
// A copy is a whole tile through the online augmentation's transforms (augment.ts) with a
// per-copy seed; its record keeps the source tile and the drawn transforms. Copies belong to no
// scene (`scene: -1`): evaluation, which reassembles scenes from their tiles, never sees them,
// and they never enter validation (the split is kept; a re-split is refused while they exist,
// since it could put a copy's source in validation). Sampling weights from `geoseg split
// --sampling` are recomputed over the enlarged training set with the same options. The
// normalization statistics are kept (those of the original tiles).
//
// Never half-written: copies are made (and fsync'd) in <dataset>/.augment-partial, renamed into
// tiles/ when all are done under names of their own generation (aug_g<N>_<index>), and only then
// is dataset.json replaced (durably), with an earlier augmentation's copies swapped for the new
// ones at once; the earlier files are deleted last. A crash at any point leaves the dataset
// either as it was or augmented anew (at worst with unreferenced aug_* files).
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { fsyncPath } from '../durable.js';
import { GeosegError } from '../errors.js';
import { augmentationSchema, applyAugmentation, describeAugmentation, planAugmentation, type AugmentationConfig, type AugmentationInput, type AugmentationStep } from './augment.js';
import { balanceTiles, type BalanceResult } from './balance-plan.js';
import type { DatasetJson, TileRecord } from './dataset.js';
import { loadDatasetJson, writeDatasetJson } from './dataset-file.js';
import { defaultScale, mix32 } from './loader.js';
import { classBalanced, rareThreshold, type SamplingRecord } from './sampling.js';
import { mulberry32 } from './split.js';

/** The copies' transforms unless a config says otherwise: the dihedral group and mild colour jitter. */
export const OFFLINE_AUGMENTATION: AugmentationInput = {
  hflip: { p: 0.5 }, vflip: { p: 0.5 }, rot90: { p: 0.75 },
  brightness: { p: 0.5, range: [-0.05, 0.05] }, contrast: { p: 0.5, range: [0.9, 1.1] },
  saturation: { p: 0.5, range: [0.9, 1.1] }, hue: { p: 0.3, range: [-0.02, 0.02] },
};

export interface OfflineAugmentOptions {
  /** Pixel share every raised class should reach (default: half the uniform share, 1 / (2C)). */
  target?: number;
  /** Class ids to raise (default: every class). */
  classes?: number[];
  /** Copies in all (default: as many as there are training tiles). */
  maxTiles?: number;
  /** Copies of one source tile (default 8). */
  maxCopies?: number;
  seed?: number;
  augmentation?: AugmentationInput;
  /** Replace an earlier augmentation of this dataset. */
  overwrite?: boolean;
}

/** What dataset.json records under `augmentation`. */
export interface AugmentationRecord {
  createdAt: string;
  /** 1 for a dataset's first augmentation, +1 for each --overwrite (the copies' file names carry it). */
  generation: number;
  target: number;
  classes: number[];
  seed: number;
  maxTiles: number;
  maxCopies: number;
  transforms: string;
  config: AugmentationConfig;
  added: number;
  before: number[];
  after: number[];
  stuck: number[];
  stopped: BalanceResult['stopped'];
}

/** A tile record of a copy. */
export interface AugmentedTileRecord extends TileRecord {
  augmented: { from: number; forClass: number; steps: AugmentationStep[] };
}

const isCopy = (t: TileRecord): t is AugmentedTileRecord => (t as Partial<AugmentedTileRecord>).augmented !== undefined;

const INTEGER_RANGES: Partial<Record<string, [number, number]>> = {
  uint8: [0, 255], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
};

function readTile(path: string): Record<string, torch.Tensor> {
  try {
    return torch.loadSafetensors(path);
  } catch (e) {
    throw new GeosegError(`${path}: cannot read tile (${(e as Error).message.split('\n')[0]})`);
  }
}

function samplingFor(old: unknown, tiles: TileRecord[], val: number[]): SamplingRecord | null {
  const s = old as SamplingRecord | null;
  if (!s) return null;
  if (s.strategy === 'class-balanced') return classBalanced(tiles, val, { power: s.power });
  return rareThreshold(tiles, val, { rareClasses: s.rareClasses, threshold: s.threshold, boost: s.boost });
}

/** Drop an earlier augmentation: records first (durably), then the copies' files. */
export function removeAugmentation(folder: string): { removed: number } {
  const loaded = loadDatasetJson(folder);
  const ds = loaded.json as unknown as DatasetJson & { augmentation?: AugmentationRecord };
  if (!Array.isArray(ds.tiles)) throw new GeosegError(`${loaded.file}: tiles must be an array (not a prepared dataset?)`);
  const copies = ds.tiles.filter(isCopy);
  if (copies.length === 0 && ds.augmentation === undefined) return { removed: 0 };
  ds.tiles = ds.tiles.filter((t) => !isCopy(t));
  delete ds.augmentation;
  ds.sampling = samplingFor(ds.sampling, ds.tiles, valOf(ds));
  writeDatasetJson(loaded);
  for (const t of copies) rmSync(join(folder, t.file), { force: true });
  return { removed: copies.length };
}

const valOf = (ds: DatasetJson) => ((ds.split as { val?: number[] } | null)?.val ?? []).slice();

/** Add the copies to the dataset at `folder`; returns what was recorded. */
export function augmentDataset(folder: string, opts: OfflineAugmentOptions = {}): AugmentationRecord {
  const loaded = loadDatasetJson(folder);
  const ds = loaded.json as unknown as DatasetJson & { augmentation?: AugmentationRecord };
  if (!Array.isArray(ds.tiles) || ds.tiles.length === 0) throw new GeosegError(`${loaded.file}: tiles must be a non-empty array (not a prepared dataset?)`);
  if (!Array.isArray(ds.classes) || ds.classes.length === 0) throw new GeosegError(`${loaded.file}: classes must be a non-empty array`);
  const earlierCopies = ds.tiles.filter(isCopy);
  if ((earlierCopies.length > 0 || ds.augmentation) && !opts.overwrite) {
    throw new GeosegError(`${loaded.file}: already augmented (${earlierCopies.length} copies); give --overwrite to replace them, or --remove to drop them`);
  }
  const originals = ds.tiles.filter((t) => !isCopy(t));
  const generation = (ds.augmentation?.generation ?? (ds.augmentation ? 1 : 0)) + 1;
  const C = ds.classes.length;
  const inVal = new Set(valOf(ds));
  const train = originals.filter((t) => !inVal.has(t.id));
  if (train.length === 0) throw new GeosegError(`${loaded.file}: no training tiles (every tile is in the validation split)`);
  const classes = opts.classes ?? ds.classes.map((c) => c.id);
  const K = classes.length;
  const target = opts.target ?? 1 / (2 * C);
  if (!(target > 0 && target <= 1 / K)) throw new GeosegError(`--target: a share in (0, ${(1 / K).toFixed(4)}] (${K} classes raised cannot all pass 1/${K}), got ${target}`);
  const maxTiles = opts.maxTiles ?? train.length;
  const maxCopies = opts.maxCopies ?? 8;
  const seed = opts.seed ?? 0;
  const parsed = augmentationSchema.safeParse(opts.augmentation ?? OFFLINE_AUGMENTATION);
  if (!parsed.success) throw new GeosegError(`--augmentation: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const config = parsed.data;

  const scale = defaultScale(ds);
  const range = INTEGER_RANGES[ds.dtype];
  const partial = join(folder, '.augment-partial');
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const byId = new Map(ds.tiles.map((t) => [t.id, t]));
  let nextId = Math.max(...originals.map((t) => t.id)) + 1;
  const added: AugmentedTileRecord[] = [];
  try {
    const plan = balanceTiles(train, C, { target, classes, maxTiles, maxCopies, seed }, (from, index, forClass) => torch.tidy(() => {
      const source = byId.get(from)!;
      const rngSeed = mix32(seed, index, 0xa06);
      const steps = planAugmentation(config, mulberry32(rngSeed));
      torch.manualSeed(rngSeed); // Gaussian noise, when configured
      const tile = readTile(join(folder, source.file));
      const s = torch.tensor(scale, { shape: [scale.length, 1, 1] });
      const out = applyAugmentation(tile.image.to('float32').div(s), tile.mask.to('int64'), steps, { ignoreIndex: ds.ignoreIndex });
      let image = out.image.mul(s);
      if (range) image = image.round().clamp(range[0], range[1]);
      const mask = out.mask.to('uint8');
      const file = `tiles/aug_g${generation}_${String(index).padStart(6, '0')}.safetensors`;
      const staged = join(partial, file.slice('tiles/'.length));
      torch.saveSafetensors(staged, { image: image.to(tile.image.dtype).contiguous(), mask: mask.contiguous() });
      fsyncPath(staged);
      const histogram = Array.from(torch.bincount(out.mask.flatten().clamp(0, C), null, C + 1).toArray() as number[]).slice(0, C);
      const labelled = histogram.reduce((a, b) => a + b, 0);
      const ignored = mask.numel() - labelled;
      added.push({ id: nextId++, scene: -1, x: 0, y: 0, file, histogram, ignored, augmented: { from, forClass, steps } });
      return histogram;
    }));
    mkdirSync(join(folder, 'tiles'), { recursive: true });
    for (const t of added) renameSync(join(partial, t.file.slice('tiles/'.length)), join(folder, t.file));
    fsyncPath(join(folder, 'tiles'));
    const record: AugmentationRecord = {
      createdAt: new Date().toISOString(), generation, target, classes, seed, maxTiles, maxCopies,
      transforms: describeAugmentation(config), config, added: added.length,
      before: plan.before, after: plan.after, stuck: plan.stuck, stopped: plan.stopped,
    };
    ds.tiles = [...originals, ...added]; // an earlier augmentation's copies replaced at once
    ds.augmentation = record;
    ds.sampling = samplingFor(ds.sampling, ds.tiles, [...inVal]);
    writeDatasetJson(loaded);
    for (const t of earlierCopies) rmSync(join(folder, t.file), { force: true }); // (another generation's names)
    return record;
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}
