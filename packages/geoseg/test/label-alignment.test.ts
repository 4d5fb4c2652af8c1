// Label-to-image alignment (issue 21): Dubai masks shifted by known offsets; the estimate recovers
// each within a pixel, and prepare --align makes the tiles of the unshifted mask.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { writeCog } from '../src/index.js';
import { estimateAlignment } from '../src/data/label-alignment.js';
import { readTensor } from './helpers/read-raster.js';

const here = dirname(fileURLToPath(import.meta.url));
const demo = join(here, '..', '..', '..', 'demo', 'dubai');
const cli = join(here, '..', 'dist', 'cli', 'main.js');
let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'geoseg-align-')); });
after(() => rmSync(dir, { recursive: true, force: true }));


/** `img` [C, H, W] moved by (dx, dy): out(x, y) = img(x − dx, y − dy), `fill` where nothing moves in. */
function moved(img: Tensor, dx: number, dy: number, fill: number): Tensor {
  return torch.tidy(() => {
    const [, H, W] = img.shape;
    const out = torch.fullLike(img, fill);
    const w = W - Math.abs(dx), h = H - Math.abs(dy);
    out.narrow(1, Math.max(dy, 0), h).narrow(2, Math.max(dx, 0), w).copy_(img.narrow(1, Math.max(-dy, 0), h).narrow(2, Math.max(-dx, 0), w));
    return out;
  });
}

/** Class ids of a mask (RGB: one id per distinct colour). */
const ids = (mask: Tensor) => torch.tidy(() => {
  if (mask.shape[0] === 1) return mask.select(0, 0).to('uint8');
  const m = mask.to('int64');
  const packed = m.select(0, 0).mul(65536).add(m.select(0, 1).mul(256)).add(m.select(0, 2));
  return torch._unique(packed.flatten(), true, true)[1].view(packed.shape).to('uint8');
});

test('the estimated shift of a Dubai mask moved by a known offset is that offset, within a pixel', async () => {
  const cases = [['tile_1/image_part_001', 3, -2], ['tile_2/image_part_001', -4, 1], ['tile_3/image_part_001', 0, 5]] as const;
  for (const [scene, dx, dy] of cases) {
    const image = await readTensor(join(demo, 'images', `${scene}.jpg`));
    const mask = await readTensor(join(demo, 'masks', `${scene}.png`));
    const a = torch.tidy(() => estimateAlignment(image, ids(moved(mask, dx, dy, 0)), 255, 8));
    const unshifted = torch.tidy(() => estimateAlignment(image, ids(mask), 255, 8));
    console.log(`${scene}: moved by (${dx}, ${dy}) → estimated (${a.fx.toFixed(2)}, ${a.fy.toFixed(2)}); the original mask: (${unshifted.fx.toFixed(2)}, ${unshifted.fy.toFixed(2)})`);
    // the estimate is relative to the original mask's own registration
    assert.ok(Math.abs(a.fx - unshifted.fx - dx) < 1 && Math.abs(a.fy - unshifted.fy - dy) < 1, `${scene}: (${a.fx}, ${a.fy}) for (${dx}, ${dy})`);
    assert.ok(Math.abs(a.fx - dx) < 1 && Math.abs(a.fy - dy) < 1, `${scene}: absolute (${a.fx}, ${a.fy}) for (${dx}, ${dy})`);
    assert.ok(a.score > a.unshiftedScore, 'the shift improves the score');
    torch.dispose([image, mask]);
  }
});

test('prepare --align: tiles of a shifted mask equal the original mask\'s tiles; bad radius refused', async () => {
  const scene = 'tile_1/image_part_001';
  for (const name of ['orig', 'moved']) {
    mkdirSync(join(dir, name, 'images'), { recursive: true });
    mkdirSync(join(dir, name, 'labels'), { recursive: true });
    copyFileSync(join(demo, 'images', `${scene}.jpg`), join(dir, name, 'images', 'a.jpg'));
  }
  copyFileSync(join(demo, 'masks', `${scene}.png`), join(dir, 'orig', 'labels', 'a.png'));
  const mask = await readTensor(join(demo, 'masks', `${scene}.png`));
  await writeCog(join(dir, 'moved', 'labels', 'a.tif'), moved(mask, 3, -2, 0));
  const prep = (name: string, ...extra: string[]) => spawnSync(process.execPath, [cli, 'prepare', '--images', join(dir, name, 'images'), '--labels', join(dir, name, 'labels'), '--classes', join(demo, 'classes.yaml'), '--out', join(dir, `${name}-ds`), '--tile', '256', '--overlap', '0', '--json', ...extra], { encoding: 'utf8' });
  for (const r of [prep('orig', '--align', '8'), prep('moved', '--align', '8')]) assert.equal(r.status, 0, r.stderr);
  const [o, m] = ['orig-ds', 'moved-ds'].map((d) => JSON.parse(readFileSync(join(dir, d, 'dataset.json'), 'utf8')));
  const so = o.scenes[0].alignment, sm = m.scenes[0].alignment;
  assert.deepEqual([sm.dx - so.dx, sm.dy - so.dy], [3, -2], `recorded shifts ${JSON.stringify(so)} / ${JSON.stringify(sm)}`);
  const tileMask = (d: string, ds: { tiles: { x: number; y: number; file: string }[] }) => torch.loadSafetensors(join(dir, d, ds.tiles.find((t) => t.x === 256 && t.y === 256)!.file)).mask;
  assert.ok(tileMask('orig-ds', o).equal(tileMask('moved-ds', m)), 'the interior tile\'s mask is the original\'s');
  const bad = prep('moved', '--align', '0', '--overwrite');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^geoseg: --align: the search radius in pixels, an integer from 1 to 64, got '0'\n$/);
  mask.dispose();
});
