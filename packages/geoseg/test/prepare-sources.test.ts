// prepare with vector labels (rasterized onto the scene grid, reprojected when needed), a target
// GSD (resampling), and glob inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { prepare, readDataset, writeCog, withRaster, pairScenes } from '../src/index.js';

const CLASSES = `classes:
  - { id: 0, name: Building, color: "#3C1098", from: [1] }
  - { id: 1, name: Water, color: "#E2A929", from: [7] }
`;
const ORIGIN = [500000, 2800000]; // UTM 40N (Dubai)

/** A 3-band 300×200 scene at 1 m in EPSG:32640. */
async function scene(path: string, width = 300, height = 200, pixel = 1): Promise<void> {
  await torch.tidy(() => writeCog(path, torch.full([3, height, width], 100, { dtype: 'uint8' }),
    { geoTransform: [ORIGIN[0], pixel, 0, ORIGIN[1], 0, -pixel], crs: 'EPSG:32640' }));
}

/**
 * A polygon layer in `epsg` with rectangles given in scene pixel coordinates (x0, y0, x1, y1),
 * written as GeoJSON text and converted by GDAL: no geometry objects are made in JS (gdal-async
 * frees the ones it owns in weak callbacks that can crash this process at exit).
 */
function polygons(path: string, driver: string, epsg: number, rects: { px: number[]; value: number | string }[], field: 'integer' | 'string'): void {
  const toLayer = new gdal.CoordinateTransformation(gdal.SpatialReference.fromEPSG(32640), gdal.SpatialReference.fromEPSG(epsg));
  const features = rects.map(({ px: [x0, y0, x1, y1], value }) => {
    const ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]].map(([x, y]) => {
      const p = toLayer.transformPoint(ORIGIN[0] + x, ORIGIN[1] - y);
      // GDAL 3 gives EPSG:4326 coordinates as (lat, lon); files store (lon, lat).
      return epsg === 4326 ? [p.y, p.x] : [p.x, p.y];
    });
    return { type: 'Feature', properties: { cls: field === 'integer' ? Number(value) : String(value) }, geometry: { type: 'Polygon', coordinates: [ring] } };
  });
  const geojson = `${path}.src.geojson`;
  writeFileSync(geojson, JSON.stringify({ type: 'FeatureCollection', features }));
  const src = gdal.open(geojson);
  const out = gdal.vectorTranslate(path, src, ['-f', driver, '-a_srs', `EPSG:${epsg}`, '-nln', 'labels']);
  out.close();
  src.close();
  rmSync(geojson);
}

test('vector labels: GeoPackage ids through the class table, exact pixel counts; background and unknown values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-vec-'));
  mkdirSync(join(dir, 'images'));
  await scene(join(dir, 'images', 'a.tif'));
  await scene(join(dir, 'images', 'b.tif'));
  // Source id 1 → Building, 7 → Water, 9 is not in the table.
  polygons(join(dir, 'labels.gpkg'), 'GPKG', 32640, [
    { px: [0, 0, 100, 50], value: 1 }, { px: [200, 100, 300, 200], value: 7 }, { px: [100, 50, 120, 60], value: 9 },
  ], 'integer');
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  const base = { images: join(dir, 'images'), labels: join(dir, 'labels.gpkg'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), tile: 256 };
  await assert.rejects(prepare(base), /labels\.gpkg: vector labels need --attribute/);
  await assert.rejects(prepare({ ...base, vector: { attribute: 'klass' } }), /labels\.gpkg: layer labels has no attribute 'klass' \(it has: cls\)/);
  await assert.rejects(prepare({ ...base, vector: { attribute: 'cls' }, unknown: 'error' }), /labels\.gpkg: cls values not in the class table: '9' \(1 features\)/);
  await prepare({ ...base, vector: { attribute: 'cls' } });
  const ds = readDataset(base.out);
  assert.equal(ds.scenes.length, 2, 'one vector file labels every scene');
  const a = ds.scenes[0];
  assert.equal(a.encoding, 'vector');
  assert.deepEqual(a.pixels, [100 * 50, 100 * 100]);
  assert.equal(a.ignored, 300 * 200 - 5000 - 10000);
  assert.deepEqual(a.unknown, { 'cls=9 (features)': 1 });
  // background: a class instead of ignore
  await prepare({ ...base, vector: { attribute: 'cls', background: 'water' }, overwrite: true });
  assert.deepEqual(readDataset(base.out).scenes[0].pixels, [5000, 300 * 200 - 5000]);
  await assert.rejects(prepare({ ...base, vector: { attribute: 'cls', background: 'sand' }, overwrite: true }), /background 'sand' is not a class/);
  assert.deepEqual(readdirSync(dir).sort(), ['classes.yaml', 'ds', 'images', 'labels.gpkg'], 'no work files left');
});

test('vector labels: GeoJSON in WGS84 with class names is reprojected onto the UTM scene', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-vec-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'labels'));
  await scene(join(dir, 'images', 's.tif'));
  polygons(join(dir, 'labels', 's.geojson'), 'GeoJSON', 4326, [{ px: [10, 10, 110, 110], value: 'building' }, { px: [150, 20, 250, 120], value: 'Water' }], 'string');
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  await prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), tile: 256, vector: { attribute: 'cls' } });
  const s = readDataset(join(dir, 'ds')).scenes[0];
  // Straight edges in degrees are very slightly curved in UTM: allow one pixel row of slack per side.
  for (const n of s.pixels) assert.ok(Math.abs(n - 10000) <= 400, `~10000 px per class, got ${s.pixels}`);
  // the tile's mask has Building at pixel (60, 60) and Water at (200, 70)
  await torch.tidy(async () => {
    const ds = readDataset(join(dir, 'ds'));
    const t = torch.loadSafetensors(join(dir, 'ds', ds.tiles[0].file));
    assert.equal(t.mask.index([torch.tensor([60], { dtype: 'int64' }), torch.tensor([60], { dtype: 'int64' })]).item(), 0);
    assert.equal(t.mask.index([torch.tensor([70], { dtype: 'int64' }), torch.tensor([200], { dtype: 'int64' })]).item(), 1);
  });
});

test('--gsd resamples scenes (image averaged, labels by majority) and records the source pixel size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-gsd-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'labels'));
  await scene(join(dir, 'images', 'fine.tif'), 512, 256, 0.5);
  await scene(join(dir, 'images', 'coarse.tif'), 256, 128, 1);
  // index labels: left half id 1 (Building), right half id 7 (Water), on each image's grid
  for (const [name, w, h] of [['fine', 512, 256], ['coarse', 256, 128]] as const) {
    await torch.tidy(() => {
      const m = torch.full([1, h, w], 1, { dtype: 'uint8' });
      m.narrow(2, w / 2, w / 2).fill_(7);
      return writeCog(join(dir, 'labels', `${name}.tif`), m);
    });
  }
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  await prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), tile: 256, overlap: 0, gsd: 1 });
  const ds = readDataset(join(dir, 'ds'));
  const fine = ds.scenes.find((s) => s.id === 'fine')!;
  const coarse = ds.scenes.find((s) => s.id === 'coarse')!;
  assert.deepEqual([fine.width, fine.height, fine.gsd, fine.resampledFrom], [256, 128, 1, 0.5]);
  assert.deepEqual(fine.geoTransform, [ORIGIN[0], 1, 0, ORIGIN[1], 0, -1]);
  assert.deepEqual(fine.pixels, [128 * 128, 128 * 128]);
  assert.deepEqual([coarse.width, coarse.height, coarse.resampledFrom], [256, 128, null]);
  // the averaged image keeps its constant value
  await torch.tidy(async () => {
    const t = torch.loadSafetensors(join(dir, 'ds', ds.tiles.find((x) => x.scene === ds.scenes.indexOf(fine))!.file));
    assert.equal(t.image.narrow(1, 0, 128).ne(100).sum().item(), 0);
  });
  // an image without georeference cannot be resampled
  await torch.tidy(() => writeCog(join(dir, 'images', 'plain.tif'), torch.zeros([3, 64, 64], { dtype: 'uint8' })));
  await torch.tidy(() => writeCog(join(dir, 'labels', 'plain.tif'), torch.zeros([1, 64, 64], { dtype: 'uint8' })));
  await assert.rejects(prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), tile: 256, gsd: 1, overwrite: true }),
    /plain\.tif: --gsd needs georeferenced scenes/);
});

test('globs select inputs; pairing keys are relative to the part before the wildcard', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-glob-'));
  for (const p of ['img/x/a.tif', 'img/x/b.jpg', 'img/y/c.tif', 'lab/x/a.png', 'lab/x/b.png', 'lab/y/c.png']) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), '');
  }
  const pairs = pairScenes(join(dir, 'img/**/*.tif'), join(dir, 'lab'));
  assert.deepEqual(pairs.map((p) => [p.id, p.label.slice(dir.length)]), [['x/a', '/lab/x/a.png'], ['y/c', '/lab/y/c.png']]);
  assert.deepEqual(pairScenes(join(dir, 'img/x/*'), join(dir, 'lab/x/?.png')).map((p) => p.id), ['a', 'b']);
  assert.deepEqual(pairScenes(join(dir, 'img/[y]'), join(dir, 'lab')).map((p) => p.id), ['y/c'], 'a glob matching folders takes their files');
  assert.throws(() => pairScenes(join(dir, 'img/*/*.tif'), join(dir, 'lab/x')), /img\/x\/a\.tif: no label file for it \(expected .*lab\/x\/x\/a\.<ext>\)/);
});

test('unsupported mask band count and empty inputs are refused with the file named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-bad-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'labels'));
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'classes.yaml'), CLASSES);
  const base = { images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out: join(dir, 'ds'), tile: 256 };
  await assert.rejects(prepare({ ...base, images: join(dir, 'empty') }), /empty: no raster images found/);
  await scene(join(dir, 'images', 'a.tif'), 64, 64);
  await torch.tidy(() => writeCog(join(dir, 'labels', 'a.tif'), torch.zeros([2, 64, 64], { dtype: 'uint8' })));
  await assert.rejects(prepare(base), /labels\/a\.tif: a mask needs 1 band \(indices or palette\) or 3-4 bands \(RGB colours\), it has 2/);
  assert.deepEqual(readdirSync(dir).sort(), ['classes.yaml', 'empty', 'images', 'labels']);
});
