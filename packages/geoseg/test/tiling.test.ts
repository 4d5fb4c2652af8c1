import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTiles, GeosegError } from '../src/index.js';

function coverage(width: number, height: number, windows: { x: number; y: number; width: number; height: number }[]): number[] {
  const seen = new Array(width * height).fill(0);
  for (const w of windows) {
    for (let y = Math.max(0, w.y); y < Math.min(height, w.y + w.height); y++) {
      for (let x = Math.max(0, w.x); x < Math.min(width, w.x + w.width); x++) seen[y * width + x]++;
    }
  }
  return seen;
}

test('tiles cover every pixel, share the asked overlap, and the last row and column end at the border', () => {
  const w = planTiles(1100, 700, { tile: 512, overlap: 0.25 });
  // stride 384: x at 0, 384 and the snapped 588; y at 0 and the snapped 188
  assert.deepEqual([...new Set(w.map((t) => t.x))], [0, 384, 588]);
  assert.deepEqual([...new Set(w.map((t) => t.y))], [0, 188]);
  assert.ok(w.every((t) => t.width === 512 && t.height === 512 && t.x + t.width <= 1100 && t.y + t.height <= 700));
  assert.ok(coverage(1100, 700, w).every((n) => n >= 1), 'no pixel is left out');
  const exact = planTiles(1024, 512, { tile: 512 });
  assert.deepEqual(exact.map((t) => [t.x, t.y]), [[0, 0], [512, 0]], 'no overlap, no duplicate edge tile');
});

test('a scene smaller than a tile gets one padded window; bad sizes are refused', () => {
  assert.deepEqual(planTiles(300, 200, { tile: 512 }), [{ x: 0, y: 0, width: 512, height: 512 }]);
  for (const tile of [250, 500, 128]) assert.throws(() => planTiles(1000, 1000, { tile }), (e: Error) => e instanceof GeosegError && /not a multiple of 32 of at least 256/.test(e.message));
  assert.throws(() => planTiles(1000, 1000, { tile: 512, overlap: 1 }), /overlap 1 must be a fraction/);
  assert.throws(() => planTiles(0, 10, { tile: 512 }), /empty scene/);
});
