import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { Raster, RasterError, withRaster, writeCog } from '../src/index.js';

const shared = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'data');
const dubai = join(shared, 'dubai_aerial');
const tmp = () => mkdtempSync(join(tmpdir(), 'geoseg-raster-'));
// UTM zone 40N (Dubai), 0.5 m pixels
const GT = [500000, 0.5, 0, 2800000, 0, -0.5];

test('a written COG has the CRS, geotransform, nodata, palette and values it was given, and is a COG', async () => {
  const dir = tmp();
  const path = join(dir, 'classes.tif');
  await torch.tidy(async () => {
    const values = torch.arange(0, 6 * 700, { dtype: 'int64' }).remainder(5).to('uint8').reshape([1, 6, 700]);
    await writeCog(path, values, { geoTransform: GT, crs: 'EPSG:32640', nodata: 255, colorTable: [[0, 0, 0, 255], [60, 16, 152, 255], [132, 41, 246, 255]] });
    await withRaster(path, async (r) => {
      assert.equal(r.info.driver, 'GTiff');
      assert.deepEqual([r.info.width, r.info.height, r.info.bandCount], [700, 6, 1]);
      assert.equal(r.info.epsg, 32640);
      assert.deepEqual(r.info.geoTransform, GT);
      assert.deepEqual(r.info.nodata, [255]);
      assert.deepEqual(r.info.colorTable!.slice(0, 3), [[0, 0, 0, 255], [60, 16, 152, 255], [132, 41, 246, 255]]);
      const back = await r.read({ x: 0, y: 0, width: 700, height: 6 });
      assert.equal(back.dtype, 'uint8');
      assert.ok(back.equal(values));
    });
    const ds = gdal.open(path);
    assert.equal(ds.getMetadata('IMAGE_STRUCTURE').LAYOUT, 'COG');
    assert.equal(ds.getMetadata('IMAGE_STRUCTURE').COMPRESSION, 'DEFLATE');
    ds.close();
  });
  assert.deepEqual(readdirSync(dir), ['classes.tif'], 'no temporary file is left');
});

test('windows past the border are filled with nodata (or a given fill); band subsets and data types', async () => {
  const dir = tmp();
  await torch.tidy(async () => {
    // 3 bands of float32: band b holds 100*b + row*10 + col
    const grid = torch.arange(0, 4, { dtype: 'float32' }).reshape([4, 1]).mul(10).add(torch.arange(0, 5, { dtype: 'float32' }));
    const bands = torch.stack([grid.add(100), grid.add(200), grid.add(300)]);
    const path = join(dir, 'f.tif');
    await writeCog(path, bands, { geoTransform: GT, crs: 'EPSG:32640', nodata: -9999 });
    const r = await Raster.open(path);
    try {
      const w = await r.read({ x: 3, y: -1, width: 4, height: 3 }, { bands: [3, 1] });
      assert.deepEqual(w.shape, [2, 3, 4]);
      assert.deepEqual(w.toArray(), [
        [[-9999, -9999, -9999, -9999], [303, 304, -9999, -9999], [313, 314, -9999, -9999]],
        [[-9999, -9999, -9999, -9999], [103, 104, -9999, -9999], [113, 114, -9999, -9999]],
      ]);
      const outside = await r.read({ x: 10, y: 10, width: 2, height: 2 }, { bands: [2], fill: 0 });
      assert.deepEqual(outside.toArray(), [[[0, 0], [0, 0]]]);
      await assert.rejects(r.read({ x: 0, y: 0, width: 2, height: 2 }, { bands: [4] }), /band 4 does not exist \(the raster has 3\)/);
      await assert.rejects(r.read({ x: 0, y: 0, width: 0, height: 2 }), /invalid window/);
    } finally {
      r.close();
    }
    // UInt16 widens to int32 (libtorch has no uint16)
    const u16 = join(dir, 'u16.tif');
    const ds = gdal.open(u16, 'w', 'GTiff', 3, 1, 1, 'UInt16');
    await ds.bands.get(1).pixels.writeAsync(0, 0, 3, 1, new Uint16Array([0, 40000, 65535]));
    ds.close();
    await withRaster(u16, async (raster) => {
      const t = await raster.read({ x: 0, y: 0, width: 3, height: 1 });
      assert.equal(t.dtype, 'int32');
      assert.deepEqual(t.toArray(), [[[0, 40000, 65535]]]);
    });
  });
});

test('bad inputs give errors naming the file, and never a partial output', async () => {
  const dir = tmp();
  const junk = join(dir, 'junk.tif');
  writeFileSync(junk, 'not a tiff at all');
  await assert.rejects(Raster.open(junk), (e: Error) => e instanceof RasterError && e.message.startsWith(`${junk}: cannot open as a raster`));
  await assert.rejects(Raster.open(join(dir, 'missing.tif')), /missing\.tif: cannot open as a raster/);
  await torch.tidy(async () => {
    const data = torch.zeros([1, 4, 4], { dtype: 'uint8' });
    await assert.rejects(writeCog(join(dir, 'nope', 'x.tif'), data), /folder .*nope does not exist/);
    const target = join(dir, 'x.tif');
    await writeCog(target, data);
    await assert.rejects(writeCog(target, data), /already exists \(pass overwrite to replace it\)/);
    await writeCog(target, data.add(1), { overwrite: true });
    await assert.rejects(writeCog(join(dir, 'y.tif'), torch.zeros([2, 2], { dtype: 'int64' })), /no GDAL type for tensors of dtype int64/);
    await assert.rejects(writeCog(join(dir, 'z.tif'), torch.zeros([1, 1, 2, 2])), /expected a \[bands, height, width\] tensor/);
    await withRaster(target, async (r) => assert.equal((await r.read({ x: 0, y: 0, width: 1, height: 1 })).item(), 1));
  });
  assert.deepEqual(readdirSync(dir).sort(), ['junk.tif', 'x.tif']);
});

test('real data: a Dubai JPEG tile and a palette PNG mask (needs ../shared/data)', { skip: existsSync(dubai) ? false : 'needs ../shared/data/dubai_aerial beside the repository' }, async () => {
  await withRaster(join(dubai, 'images', 'tile_1', 'image_part_001.jpg'), async (r) => {
    assert.deepEqual([r.info.width, r.info.height, r.info.bandCount, r.info.dataTypes[0]], [797, 644, 3, 'Byte']);
    assert.equal(r.info.crs, null, 'plain JPEGs have no CRS');
    await torch.tidy(async () => {
      const t = await r.read({ x: 780, y: 0, width: 32, height: 32 });
      assert.deepEqual(t.shape, [3, 32, 32]);
      assert.equal(t.narrow(2, 17, 15).max().item(), 0, 'columns past the edge are filled');
      assert.ok(t.narrow(2, 0, 17).float().mean().item() > 0);
    });
  });
  await withRaster(join(dubai, 'masks', 'tile_2', 'image_part_001.png'), async (r) => {
    assert.equal(r.info.bandCount, 1);
    assert.ok(r.info.colorTable && r.info.colorTable.length >= 4, 'palette PNG exposes its colour table');
  });
});
