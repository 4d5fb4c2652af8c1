// Never answer wrongly with exit code 0 (issue 15): GDAL decodes a JPEG cut short with a warning
// and fills the rest grey; geoseg must fail instead, naming the file. Inputs are real demo
// scenes with their bytes cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import gdal from 'gdal-async';
import { Raster, writeCog, RasterError } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const demo = join(repo, 'demo', 'dubai');
const scene = 'tile_1/image_part_001';

/** Copies the first `fraction` of `src`'s bytes to `dst`. */
function cut(src: string, dst: string, fraction: number): void {
  const bytes = readFileSync(src);
  writeFileSync(dst, bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

/** A folder with one demo scene (JPEG image, PNG mask) whose image is `image` (written by `make`). */
function sceneFolder(dir: string, ext: string, make: (file: string) => void): { images: string; labels: string } {
  const images = join(dir, `images-${ext}`), labels = join(dir, `labels-${ext}`);
  mkdirSync(images);
  mkdirSync(labels);
  make(join(images, `a.${ext}`));
  copyFileSync(join(demo, 'masks', `${scene}.png`), join(labels, 'a.png'));
  return { images, labels };
}

async function readAll(file: string): Promise<void> {
  const r = await Raster.open(file);
  try {
    (await r.read({ x: 0, y: 0, width: r.info.width, height: r.info.height })).dispose();
  } finally {
    r.close();
  }
}

test('a truncated JPEG or GeoTIFF fails prepare with one line naming the file, and no dataset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-corrupt-'));
  const jpeg = sceneFolder(dir, 'jpg', (f) => cut(join(demo, 'images', `${scene}.jpg`), f, 0.6));
  const tiff = sceneFolder(dir, 'tif', (f) => {
    const full = join(dir, 'full.tif');
    gdal.drivers.get('GTiff').createCopy(full, gdal.open(join(demo, 'images', `${scene}.jpg`)), { TILED: 'YES', COMPRESS: 'DEFLATE' }).close();
    cut(full, f, 0.6);
  });
  for (const [inputs, file] of [[jpeg, join(jpeg.images, 'a.jpg')], [tiff, join(tiff.images, 'a.tif')]] as const) {
    await assert.rejects(readAll(file), (e: Error) => e instanceof RasterError && e.message.startsWith(`${file}: `));
    const out = join(dir, `ds-${file.slice(-3)}`);
    const r = spawnSync(process.execPath, [cli, 'prepare', '--images', inputs.images, '--labels', inputs.labels, '--classes', join(demo, 'classes.yaml'), '--out', out, '--tile', '256', '--json'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `${file}: prepare exited 0`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`geoseg: ${file}: `), r.stderr);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('ds-') || f.startsWith('.')), [], 'no dataset, no temporary folder');
  // the whole files are fine
  await readAll(join(demo, 'images', `${scene}.jpg`));
  await readAll(join(dir, 'full.tif'));
});

test('any GDAL warning while reading an input fails the read (not only libjpeg\'s)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-corrupt-'));
  const file = join(dir, 'cut.jpg');
  cut(join(demo, 'images', `${scene}.jpg`), file, 0.6);
  // Without GDAL's libjpeg switch the truncation is only a warning: the read still fails.
  const before = gdal.config.get('GDAL_ERROR_ON_LIBJPEG_WARNING');
  gdal.config.set('GDAL_ERROR_ON_LIBJPEG_WARNING', 'FALSE');
  try {
    await assert.rejects(readAll(file), (e: Error) => e instanceof RasterError && e.message.startsWith(`${file}: reading 797 × 644 pixels at 0,0: GDAL warned: libjpeg: Premature end of JPEG file`));
  } finally {
    gdal.config.set('GDAL_ERROR_ON_LIBJPEG_WARNING', before);
  }
  // a read without warnings after it is not blamed
  const ok = join(dir, 'ok.tif');
  const r = await Raster.open(join(demo, 'images', `${scene}.jpg`));
  await writeCog(ok, await r.read({ x: 0, y: 0, width: 64, height: 64 }));
  r.close();
  await readAll(ok);
});
