import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { planTiles, prepare, readDataset, writeCog, withRaster, GeosegError } from '../src/index.js';
import { slowTest } from './helpers/tier.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const dubai = join(repo, '..', 'shared', 'data', 'dubai_aerial');
const CLASSES = `ignoreIndex: 255
classes:
  - { id: 0, name: Building, color: "#3C1098" }
  - { id: 1, name: Land, color: "#8429F6" }
  - { id: 2, name: Road, color: "#6EC1E4" }
  - { id: 3, name: Vegetation, color: "#FEDD3A" }
  - { id: 4, name: Water, color: "#E2A929" }
ignore: ["#9B9B9B", "#000000"]
`;
const COLORS = [[60, 16, 152], [132, 41, 246], [110, 193, 228], [254, 221, 58], [226, 169, 41]];

/** A scene (3-band pattern) and an RGB mask: left half Building, right half Water, top-left 10×10 grey (ignored), one red pixel (unknown). */
async function makeScene(dir: string, name: string, width: number, height: number): Promise<void> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  await torch.tidy(async () => {
    const img = torch.arange(0, 3 * height * width, { dtype: 'int64' }).remainder(251).to('uint8').reshape([3, height, width]);
    await writeCog(join(dir, 'images', `${name}.tif`), img, { geoTransform: [500000, 1, 0, 2800000, 0, -1], crs: 'EPSG:32640' });
    const mask = torch.zeros([3, height, width], { dtype: 'uint8' });
    const half = Math.floor(width / 2);
    for (let c = 0; c < 3; c++) {
      mask.select(0, c).narrow(1, 0, half).fill_(COLORS[0][c]);
      mask.select(0, c).narrow(1, half, width - half).fill_(COLORS[4][c]);
      mask.select(0, c).narrow(0, 0, 10).narrow(1, 0, 10).fill_(155);
      mask.select(0, c).narrow(0, height - 1, 1).narrow(1, width - 1, 1).fill_(c === 0 ? 255 : 0);
    }
    await writeCog(join(dir, 'labels', `${name}.png.tif`), mask);
  });
}

test('prepare tiles scenes, counts every scene pixel once, pads small scenes with ignore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-prep-'));
  await makeScene(dir, 'big', 600, 300);
  await makeScene(dir, 'small', 200, 100);
  // labels pair by path without extension: big.png.tif → "big.png" ≠ "big"; rename to pair
  for (const n of ['big', 'small']) gdal.drivers.get('GTiff').createCopy(join(dir, 'labels', `${n}.tif`), gdal.open(join(dir, 'labels', `${n}.png.tif`))).close();
  for (const n of ['big', 'small']) (await import('node:fs')).rmSync(join(dir, 'labels', `${n}.png.tif`));
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  const out = join(dir, 'ds');
  const summary = await prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out, tile: 256, overlap: 0.25 });
  assert.equal(summary.scenes, 2);
  assert.deepEqual(summary.unknown, { '#FF0000': 2 });
  const ds = readDataset(out);
  const big = ds.scenes.find((s) => s.id === 'big')!;
  // Building: left 300 columns minus the 10×10 grey; Water: right 300 minus the red pixel.
  assert.deepEqual(big.pixels, [300 * 300 - 100, 0, 0, 0, 300 * 300 - 1]);
  assert.equal(big.ignored, 101);
  assert.equal(big.epsg, 32640);
  assert.equal(ds.tiles.filter((t) => t.scene === ds.scenes.indexOf(big)).length, planTiles(600, 300, { tile: 256, overlap: 0.25 }).length);
  // A tile's image equals the scene window; the small scene's tile is padded (image 0, mask ignore).
  await torch.tidy(async () => {
    const t = ds.tiles.find((x) => x.scene === ds.scenes.indexOf(big) && x.x === 344 && x.y === 44)!;
    const saved = torch.loadSafetensors(join(out, t.file));
    await withRaster(big.image, async (r) => assert.ok(saved.image.equal(await r.read({ x: 344, y: 44, width: 256, height: 256 }))));
    assert.deepEqual(saved.mask.shape, [256, 256]);
    const small = ds.tiles.find((x) => x.scene === ds.scenes.findIndex((s) => s.id === 'small'))!;
    const padded = torch.loadSafetensors(join(out, small.file));
    assert.equal(padded.mask.narrow(0, 100, 156).ne(255).sum().item(), 0, 'rows past the scene are ignore');
    assert.equal(padded.image.narrow(2, 200, 56).ne(0).sum().item(), 0, 'columns past the scene are 0');
    assert.equal(small.histogram.reduce((a, b) => a + b, 0) + small.ignored, 256 * 256);
  });
  assert.equal(ds.normalization.mean.length, 3);
  // stats through the CLI: every scene pixel once
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'packages/geoseg/src/cli/main.ts'), 'stats', out, '--json'], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const stats = JSON.parse(r.stdout);
  assert.equal(stats.classes[0].pixels, 300 * 300 - 100 + 100 * 100 - 100);
  assert.equal(stats.ignoredPixels, 202);
  assert.ok(Math.abs(stats.classes.reduce((s: number, c: { frequency: number }) => s + c.frequency, 0) - 1) < 1e-12);
  // text: the long tail and a per-scene table; --plot writes a PNG whose first bar has Building's colour
  const png = join(dir, 'classes.png');
  const t = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'packages/geoseg/src/cli/main.ts'), 'stats', out, '--plot', png], { cwd: repo, encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /per scene \(share of labelled pixels\):\nscene\s+labelled\s+Building\s+Land\s+Road\s+Vegetation\s+Water\s+ignored/);
  assert.match(t.stdout, /\nbig\s+179899\s+50\.0%\s+0\.0%\s+0\.0%\s+0\.0%\s+50\.0%\s+101\n/);
  const chart = gdal.open(png);
  const at = (x: number, y: number) => [1, 2, 3].map((b) => chart.bands.get(b).pixels.get(x, y));
  // bars start after the longest label ('Vegetation': 10 glyphs × 12 px + 16); Water (99,998 px) is first, Building (99,800) second
  const barX = 16 + 10 * 12 + 16 + 10;
  assert.deepEqual(at(barX, 16 + 30 + 15), COLORS[4], 'first bar in Water\'s colour');
  assert.deepEqual(at(barX, 16 + 60 + 15), COLORS[0], 'second bar in Building\'s colour');
  assert.deepEqual(at(barX + 200, 16 + 30 + 15), COLORS[4], 'the largest bar is long');
  assert.deepEqual(at(barX + 200, 16 + 90 + 15), [255, 255, 255], 'an empty class has no bar');
  const titleInk = chart.bands.get(1).pixels.read(16, 16, 200, 14).some((v) => v === 0);
  assert.ok(titleInk, 'the title is drawn');
  chart.close();
  (await import('node:fs')).rmSync(png);
  // re-running over the same output is safe (asked with overwrite)
  await prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out, tile: 256, overwrite: true });
  assert.equal(readDataset(out).overlap, 0.25);
  assert.deepEqual(readdirSync(dir).sort(), ['classes.yaml', 'ds', 'images', 'labels'], 'no temporary folders are left');
});

test('prepare refuses bad inputs with one message naming the file, and leaves no half-written dataset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-prep-'));
  await makeScene(dir, 'a', 300, 300);
  const fs = await import('node:fs');
  gdal.drivers.get('GTiff').createCopy(join(dir, 'labels', 'a.tif'), gdal.open(join(dir, 'labels', 'a.png.tif'))).close();
  fs.rmSync(join(dir, 'labels', 'a.png.tif'));
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  const base = { images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), overwrite: true };
  await prepare(base);
  const good = readDataset(base.out).createdAt;
  // size mismatch
  await torch.tidy(() => writeCog(join(dir, 'images', 'b.tif'), torch.zeros([3, 300, 280], { dtype: 'uint8' })));
  await torch.tidy(() => writeCog(join(dir, 'labels', 'b.tif'), torch.zeros([3, 300, 300], { dtype: 'uint8' })));
  await assert.rejects(prepare(base), (e: Error) => e instanceof GeosegError && /labels\/b\.tif: label is 300 × 300 but its image .*images\/b\.tif is 280 × 300/.test(e.message));
  assert.equal(readDataset(base.out).createdAt, good, 'the previous dataset is untouched');
  fs.rmSync(join(dir, 'labels', 'b.tif'));
  await assert.rejects(prepare(base), /images\/b\.tif: no label file for it/);
  fs.rmSync(join(dir, 'images', 'b.tif'));
  writeFileSync(join(dir, 'images', 'c.tif'), 'garbage');
  writeFileSync(join(dir, 'labels', 'c.tif'), 'garbage');
  await assert.rejects(prepare(base), /images\/c\.tif: cannot open as a raster/);
  fs.rmSync(join(dir, 'images', 'c.tif'));
  fs.rmSync(join(dir, 'labels', 'c.tif'));
  await assert.rejects(prepare({ ...base, tile: 250 }), /tile size 250 is not a multiple of 32/);
  await assert.rejects(prepare({ ...base, unknown: 'error' }), /labels\/a\.tif: colours not in the class table: #FF0000 \(1 px\)/);
  writeFileSync(join(dir, 'gaps.yaml'), 'classes:\n  - { id: 0, name: a, color: "#3C1098" }\n  - { id: 2, name: b, color: "#8429F6" }\n');
  await assert.rejects(prepare({ ...base, classes: join(dir, 'gaps.yaml') }), /class ids must be 0\.\.1 without gaps/);
  await assert.rejects(prepare({ ...base, images: join(dir, 'nothing') }), /nothing: no such file or folder/);
  assert.equal(readDataset(base.out).createdAt, good);
  assert.deepEqual(readdirSync(dir).sort(), ['classes.yaml', 'ds', 'gaps.yaml', 'images', 'labels']);
  // CLI: one line, non-zero exit
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'packages/geoseg/src/cli/main.ts'), 'prepare', '--images', base.images, '--labels', base.labels, '--classes', base.classes, '--out', base.out, '--tile', '100'], { cwd: repo, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^geoseg: tile size 100/);
});

slowTest('Dubai: prepare + stats totals equal the masks\' own colour counts (needs ../shared/data)', { skip: existsSync(dubai) ? false : 'needs ../shared/data/dubai_aerial beside the repository' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-dubai-'));
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  const summary = await prepare({ images: join(dubai, 'images'), labels: join(dubai, 'masks'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), tile: 512, overlap: 0, unknown: 'error' });
  assert.equal(summary.scenes, 72);
  const ds = readDataset(join(dir, 'ds'));
  const totals = [0, 0, 0, 0, 0];
  let ignored = 0;
  for (const s of ds.scenes) { s.pixels.forEach((n, k) => { totals[k] += n; }); ignored += s.ignored; }
  // Independent count: GDAL's bytes (palettes expanded by hand), counted in plain JS.
  const reference = new Map<number, number>();
  for (const s of ds.scenes) {
    const g = gdal.open(s.label);
    const { x: w, y: h } = g.rasterSize;
    const b = g.bands.count();
    const read = (i: number) => g.bands.get(i).pixels.read(0, 0, w, h);
    let rgb: ArrayLike<number>[];
    if (b >= 3) rgb = [read(1), read(2), read(3)];
    else {
      const idx = read(1);
      const ct = g.bands.get(1).colorTable!;
      const pal = Array.from({ length: ct.count() }, (_, i) => ct.get(i));
      rgb = [Array.from(idx, (v) => pal[v].c1), Array.from(idx, (v) => pal[v].c2), Array.from(idx, (v) => pal[v].c3)];
    }
    for (let i = 0; i < w * h; i++) {
      const key = (rgb[0][i] << 16) | (rgb[1][i] << 8) | rgb[2][i];
      reference.set(key, (reference.get(key) ?? 0) + 1);
    }
    g.close();
  }
  assert.deepEqual(totals, COLORS.map(([r, g, b]) => reference.get((r << 16) | (g << 8) | b) ?? 0));
  assert.equal(ignored, (reference.get(0x9b9b9b) ?? 0) + (reference.get(0) ?? 0));
  assert.equal(totals.reduce((a, b) => a + b, 0) + ignored, 99_032_243);
});
