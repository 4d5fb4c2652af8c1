// An RGB tensor [3, H, W] (uint8) written as PNG by GDAL, through a temporary file renamed into
// place (never a half-written PNG at the path).
import gdal from 'gdal-async';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';

export async function writePng(path: string, pixels: Tensor, what = 'the image'): Promise<void> {
  const [, height, width] = pixels.shape;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const mem = gdal.drivers.get('MEM').create('', width, height, 3, gdal.GDT_Byte);
  try {
    for (let c = 0; c < 3; c++) {
      const plane = pixels.select(0, c).contiguous();
      await mem.bands.get(c + 1).pixels.writeAsync(0, 0, width, height, plane.data() as Uint8Array);
      plane.dispose();
    }
    (await gdal.drivers.get('PNG').createCopyAsync(tmp, mem)).close();
    renameSync(tmp, path);
    rmSync(`${tmp}.aux.xml`, { force: true });
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new GeosegError(`${path}: cannot write ${what} (${(e as Error).message})`);
  } finally {
    mem.close();
  }
}
