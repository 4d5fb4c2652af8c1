// The before/after figure of geoseg refine-labels (issue 21, SegHZ 2.5's jagged upsampled label
// edges): a 256² crop of demo/dubai tile_1/image_part_001 (CC0), its mask coarsened 8× and
// brought back by nearest neighbour, the same refined over the image, and the true mask, side by
// side, each label map drawn over the image at 50%. Writes docs/refine-labels.png.
//
//   node --import tsx bench/run.ts refine-figure
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { readClassTable } from '../packages/geoseg/src/data/classes.js';
import { decodeMask } from '../packages/geoseg/src/data/masks.js';
import { nearestTo, refineLabels, REFINE_DEFAULTS } from '../packages/geoseg/src/infer/crf/refine-labels.js';
import { writePng } from '../packages/geoseg/src/plot/png.js';
import { Raster } from '../packages/geoseg/src/raster/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const demo = join(repo, 'demo', 'dubai');

async function readWhole(path: string): Promise<Tensor> {
  const r = await Raster.open(path);
  try {
    return await r.read({ x: 0, y: 0, width: r.info.width, height: r.info.height });
  } finally {
    r.close();
  }
}

export async function refineFigure(): Promise<Record<string, unknown>> {
  const scene = 'tile_1/image_part_001';
  const table = readClassTable(join(demo, 'classes.yaml'));
  const [x0, y0, S, f] = [96, 64, 256, 8];
  const crop = (t: Tensor) => t.narrow(1, y0, S).narrow(2, x0, S).contiguous();
  const image = crop(await readWhole(join(demo, 'images', `${scene}.jpg`))).keep();
  const mask = crop(await readWhole(join(demo, 'masks', `${scene}.png`))).keep();
  const truth = decodeMask(mask, table).index.keep();
  const coarse = torch.tidy(() => nearestTo(truth, S / f, S / f)).keep();
  const nearest = torch.tidy(() => nearestTo(coarse, S, S)).keep();
  const refined = (await refineLabels(nearest, async (x, y, w, h) => image.narrow(1, y, h).narrow(2, x, w).contiguous(), table.classes.length, table.ignoreIndex, REFINE_DEFAULTS)).keep();
  const palette = torch.tensor(table.classes.flatMap((c) => c.color), { shape: [table.classes.length, 3] });
  const overlay = (ids: Tensor) => torch.tidy(() => {
    const colours = palette.indexSelect(0, ids.to('int64').clamp(0, table.classes.length - 1).flatten()).t().reshape([3, S, S]);
    return image.to('float32').mul(0.5).add(colours.to('float32').mul(0.5)).round().to('uint8');
  });
  const gap = torch.full([3, S, 4], 255, { dtype: 'uint8' });
  const strip = torch.tidy(() => torch.cat([image, gap, overlay(nearest), gap, overlay(refined), gap, overlay(truth)], 2));
  const out = join(repo, 'docs', 'refine-labels.png');
  mkdirSync(dirname(out), { recursive: true });
  await writePng(out, strip);
  const accuracy = (p: Tensor) => torch.tidy(() => p.eq(truth).to('float64').mean().item());
  const result = { out, crop: { x: x0, y: y0, size: S }, factor: f, nearestAccuracy: accuracy(nearest), refinedAccuracy: accuracy(refined) };
  console.log(`wrote ${out}: image | nearest-upsampled 1/${f} labels (${(100 * result.nearestAccuracy).toFixed(1)}% right) | refined (${(100 * result.refinedAccuracy).toFixed(1)}%) | truth`);
  torch.dispose([image, mask, truth, coarse, nearest, refined, palette, gap, strip]);
  return result;
}
