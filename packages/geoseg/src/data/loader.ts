// Training batches from a prepared dataset: tiles drawn (uniformly or by the per-tile weights of
// `geoseg split --sampling`), a crop cut from each, augmented in libtorch, normalized and stacked.
// Batch k depends only on (seed, k): a resumed run sees the same batches as an uninterrupted one.
// In data-parallel training (`shard`) batch k is the global batch of batch × ranks crops and each
// rank takes its own slice, so ranks never draw the same crops and N ranks × batch b see exactly
// the crops one process × batch N·b would.
// File reads go through fs.promises, so the next batch is read while the model computes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { augment, type AugmentationConfig } from './augment.js';
import type { DatasetJson } from './dataset.js';
import { mulberry32 } from './split.js';

export interface LoaderOptions {
  /** Tile ids to draw from (the training split). */
  tiles: number[];
  crop: number;
  batch: number;
  seed: number;
  augmentation: AugmentationConfig;
  /** Per-tile-id sampling weights (uniform when absent). */
  weights?: number[] | null;
  /** Choose the crop with most pixels of these classes among `rareCropCandidates` random ones. */
  rareClasses?: number[];
  rareCropCandidates?: number;
  /** Divisor bringing raw values to about [0, 1] (per band). */
  scale: number[];
  /** This process's slice of the global batch in data-parallel training (rank of ranks). */
  shard?: { rank: number; ranks: number };
}

export interface Batch {
  /** [B, bands, crop, crop] float32, normalized. */
  images: Tensor;
  /** [B, crop, crop] int64 class ids. */
  masks: Tensor;
}

/** A 32-bit hash of a few integers (for per-step seeds). */
export function mix32(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

/** The default raw-to-[0,1] divisor per band: 255 for 8-bit data, else mean + 3 std. */
export function defaultScale(ds: DatasetJson): number[] {
  if (ds.dtype === 'uint8') return new Array(ds.bands).fill(255);
  return ds.normalization.mean.map((m, i) => Math.max(m + 3 * ds.normalization.std[i], 1e-6));
}

export class TileLoader {
  readonly #cumulative: Float64Array;
  readonly #mean: Tensor;
  readonly #std: Tensor;
  readonly #scale: Tensor;

  constructor(readonly folder: string, readonly ds: DatasetJson, readonly opts: LoaderOptions) {
    if (opts.tiles.length === 0) throw new GeosegError(`${folder}: no training tiles (is every tile in the validation split?)`);
    if (opts.crop > ds.tileSize) throw new GeosegError(`crop ${opts.crop} is larger than the dataset's tiles (${ds.tileSize}); use a crop ≤ ${ds.tileSize} or prepare larger tiles`);
    const w = opts.tiles.map((id) => opts.weights?.[id] ?? 1);
    if (w.some((x) => !(x >= 0))) throw new GeosegError(`${folder}: sampling weights must be ≥ 0`);
    this.#cumulative = new Float64Array(w.length);
    w.reduce((acc, x, i) => (this.#cumulative[i] = acc + x), 0);
    if (!(this.#cumulative[w.length - 1] > 0)) throw new GeosegError(`${folder}: every training tile has sampling weight 0`);
    const { mean, std } = ds.normalization;
    const b = ds.bands;
    // Normalization in the [0, 1] units the augmentation works in: (x/s - m/s) / (sd/s).
    this.#scale = torch.tensor(opts.scale, { shape: [b, 1, 1] }).keep();
    this.#mean = torch.tensor(mean.map((m, i) => m / opts.scale[i]), { shape: [b, 1, 1] }).keep();
    this.#std = torch.tensor(std.map((s, i) => Math.max(s, 1e-6) / opts.scale[i]), { shape: [b, 1, 1] }).keep();
  }

  /** The tile ids and crop corners of batch k (deterministic in seed and k; this rank's slice). */
  plan(k: number): { tile: number; x: number; y: number; rng: () => number }[] {
    const rng = mulberry32(mix32(this.opts.seed, k, 0x5eed));
    const total = this.#cumulative[this.#cumulative.length - 1];
    const span = this.ds.tileSize - this.opts.crop;
    const { rank, ranks } = this.opts.shard ?? { rank: 0, ranks: 1 };
    const global = Array.from({ length: this.opts.batch * ranks }, () => {
      const r = rng() * total;
      let lo = 0, hi = this.#cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#cumulative[mid] > r) hi = mid;
        else lo = mid + 1;
      }
      const x = Math.floor(rng() * (span + 1));
      const y = Math.floor(rng() * (span + 1));
      return { tile: this.opts.tiles[lo], x, y, rng: mulberry32(mix32(this.opts.seed, k, lo, x, y)) };
    });
    return global.slice(rank * this.opts.batch, (rank + 1) * this.opts.batch);
  }

  /** Start reading batch k's tile files; resolves to their bytes. */
  fetch(k: number): Promise<Buffer[]> {
    return Promise.all(this.plan(k).map((p) => {
      const file = join(this.folder, this.ds.tiles[p.tile].file);
      return readFile(file).catch((e) => { throw new GeosegError(`${file}: cannot read tile (${(e as Error).message})`); });
    }));
  }

  /** Batch k from its tile bytes: crops, augmentation, normalization (torch RNG seeded by the caller). */
  assemble(k: number, files: Buffer[]): Batch {
    const plan = this.plan(k);
    const ignoreIndex = this.ds.ignoreIndex;
    return torch.tidy(() => {
      const images: Tensor[] = [];
      const masks: Tensor[] = [];
      plan.forEach((p, i) => {
        const tile = torch.safetensorsFromBuffer(files[i], this.ds.tiles[p.tile].file);
        const [x, y] = this.cropCorner(tile.mask, p);
        const c = this.opts.crop;
        const image = tile.image.narrow(1, y, c).narrow(2, x, c).to('float32').div(this.#scale);
        const mask = tile.mask.narrow(0, y, c).narrow(1, x, c).to('int64');
        const out = augment(image, mask, this.opts.augmentation, p.rng, { ignoreIndex });
        images.push(out.image.sub(this.#mean).div(this.#std));
        masks.push(out.mask);
      });
      return { images: torch.stack(images), masks: torch.stack(masks) };
    });
  }

  /** A random crop, or among a few random ones the one with most rare-class pixels. */
  private cropCorner(mask: Tensor, p: { x: number; y: number; rng: () => number }): [number, number] {
    const n = this.opts.rareCropCandidates ?? 0;
    const rare = this.opts.rareClasses ?? [];
    if (n <= 1 || rare.length === 0) return [p.x, p.y];
    const span = this.ds.tileSize - this.opts.crop;
    const c = this.opts.crop;
    return torch.tidy(() => {
      // Integral image of rare-class pixels: any crop's count in four lookups.
      const isRare = torch.isin(mask.to('int64'), torch.tensor(rare, { dtype: 'int64' })).to('int32');
      const integral = torch.pad(isRare.cumsum(0).cumsum(1), [1, 0, 1, 0]).to('int32').contiguous().data() as Int32Array;
      const W = this.ds.tileSize + 1;
      const count = (x: number, y: number) => integral[(y + c) * W + x + c] - integral[y * W + x + c] - integral[(y + c) * W + x] + integral[y * W + x];
      let best: [number, number] = [p.x, p.y];
      let bestCount = count(p.x, p.y);
      for (let i = 1; i < n; i++) {
        const x = Math.floor(p.rng() * (span + 1)), y = Math.floor(p.rng() * (span + 1));
        const v = count(x, y);
        if (v > bestCount) [best, bestCount] = [[x, y], v];
      }
      return best;
    });
  }

  dispose(): void {
    this.#mean.dispose();
    this.#std.dispose();
    this.#scale.dispose();
  }
}
