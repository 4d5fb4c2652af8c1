// Tiling a scene into square windows: a multiple of 32 (every model's input rule), at least 256,
// with overlap; the last row and column are snapped to the scene's border rather than dropped,
// and a scene smaller than a tile gets one window that reads past its edge (padded).
import { GeosegError } from '../errors.js';
import type { Window } from '../raster/index.js';

export interface TilingOptions {
  /** Tile side in pixels: a multiple of 32, at least 256. */
  tile: number;
  /** Fraction of a tile shared with the next one, in [0, 1). */
  overlap?: number;
  /** Smallest allowed tile (256 for datasets; inference windows may go down to 32). */
  minTile?: number;
}

export function checkTileSize(tile: number, minTile = 256, what = 'tile size'): void {
  if (!Number.isInteger(tile) || tile < minTile || tile % 32 !== 0) {
    throw new GeosegError(`${what} ${tile} is not a multiple of 32 of at least ${minTile} (e.g. 256, 512, 1024)`);
  }
}

/** Start offsets along one axis of length `size`. */
function starts(size: number, tile: number, stride: number): number[] {
  if (size <= tile) return [0];
  const out: number[] = [];
  for (let p = 0; p + tile < size; p += stride) out.push(p);
  out.push(size - tile); // snapped to the border
  return out;
}

/** The tile windows of a width × height scene, row by row. */
export function planTiles(width: number, height: number, { tile, overlap = 0, minTile = 256 }: TilingOptions): Window[] {
  checkTileSize(tile, minTile, minTile < 256 ? 'window' : 'tile size');
  if (!(overlap >= 0 && overlap < 1)) throw new GeosegError(`overlap ${overlap} must be a fraction in [0, 1)`);
  if (!(width > 0 && height > 0)) throw new GeosegError(`cannot tile an empty scene (${width} × ${height})`);
  const stride = Math.max(1, tile - Math.round(tile * overlap));
  const windows: Window[] = [];
  for (const y of starts(height, tile, stride)) {
    for (const x of starts(width, tile, stride)) windows.push({ x, y, width: tile, height: tile });
  }
  return windows;
}
