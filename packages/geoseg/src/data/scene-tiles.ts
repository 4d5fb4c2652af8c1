// Windows of a scene read from its prepared tiles (they cover every pixel: edge tiles are snapped
// to the border), for evaluation on whole scenes without putting the scene together in memory.
// Works the same for scenes that prepare rasterized or resampled. Reads go down the scene, so a
// tile whose last row is above a read is dropped from the cache: memory holds the tiles of about
// one window row, whatever the scene's height.
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import type { DatasetJson, TileRecord } from './dataset.js';

/** A rectangle in scene pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Loaded {
  image: Tensor;
  mask: Tensor;
}

export class SceneTiles {
  readonly region: Region;
  readonly bands: number;
  /** The tiles' image dtype. */
  readonly dtype: torch.DType;
  private readonly tiles: TileRecord[];
  private readonly cache = new Map<number, Loaded>();

  /** The tiles of scene `scene`; reads are relative to `region` (default: the whole scene). */
  constructor(private readonly folder: string, private readonly ds: DatasetJson, scene: number, region?: Region) {
    const { width, height } = ds.scenes[scene];
    this.region = region ?? { x: 0, y: 0, width, height };
    this.tiles = ds.tiles.filter((t) => t.scene === scene);
    if (this.tiles.length === 0) throw new Error(`scene ${ds.scenes[scene].id} has no tiles`);
    const first = this.load(this.tiles[0]).image;
    this.bands = first.shape[0];
    this.dtype = first.dtype;
  }

  /** Image pixels [bands, h, w] in the dataset's dtype (zeros outside the region). */
  readImage(x: number, y: number, w: number, h: number): Tensor {
    return this.read('image', torch.zeros([this.bands, h, w], { dtype: this.dtype }), x, y);
  }

  /** Class ids [h, w] uint8 (the ignore index outside the region). */
  readMask(x: number, y: number, w: number, h: number): Tensor {
    return this.read('mask', torch.full([h, w], this.ds.ignoreIndex, { dtype: 'uint8' }), x, y);
  }

  close(): void {
    for (const t of this.cache.values()) torch.dispose([t.image, t.mask]);
    this.cache.clear();
  }

  /** Copies the part of every tile inside the region and the window at (x, y) of `out` (its last two dimensions). */
  private read(what: keyof Loaded, out: Tensor, x: number, y: number): Tensor {
    const [h, w] = out.shape.slice(-2);
    const { region: R } = this;
    const T = this.ds.tileSize;
    // The window in scene pixels, clipped to the region.
    const x0 = R.x + Math.max(0, x), y0 = R.y + Math.max(0, y);
    const x1 = R.x + Math.min(R.width, x + w), y1 = R.y + Math.min(R.height, y + h);
    this.evictAbove(y0);
    for (const t of this.tiles) {
      // tiles of small scenes are padded past the scene: only the part inside it counts
      const tx1 = Math.min(t.x + T, R.x + R.width), ty1 = Math.min(t.y + T, R.y + R.height);
      const ix0 = Math.max(x0, t.x), iy0 = Math.max(y0, t.y), ix1 = Math.min(x1, tx1), iy1 = Math.min(y1, ty1);
      if (ix1 <= ix0 || iy1 <= iy0) continue;
      const src = this.load(t)[what];
      torch.tidy(() => {
        const part = src.narrow(-2, iy0 - t.y, iy1 - iy0).narrow(-1, ix0 - t.x, ix1 - ix0);
        out.narrow(-2, iy0 - R.y - y, iy1 - iy0).narrow(-1, ix0 - R.x - x, ix1 - ix0).copy_(part);
      });
    }
    return out;
  }

  private load(t: TileRecord): Loaded {
    let loaded = this.cache.get(t.id);
    if (!loaded) {
      const saved = torch.tidy(() => torch.loadSafetensors(join(this.folder, t.file)));
      loaded = { image: saved.image.keep(), mask: saved.mask.keep() };
      this.cache.set(t.id, loaded);
    }
    return loaded;
  }

  /** Drops the cached tiles that end above scene row y (reads go down the scene). */
  private evictAbove(y: number): void {
    for (const t of this.tiles) {
      const loaded = this.cache.get(t.id);
      if (loaded && t.y + this.ds.tileSize <= y) {
        torch.dispose([loaded.image, loaded.mask]);
        this.cache.delete(t.id);
      }
    }
  }
}
