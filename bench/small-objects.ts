// Small objects on real imagery (issue 18): cars in the two ISPRS crops of ../shared/data/
// mmseg_rs_samples (one 512² Potsdam RGB crop, one 512² Vaihingen IR-R-G crop; test data only,
// never copied into the repository). Each crop is cut into four 256² quadrants; two quadrants
// (Potsdam bottom-right, Vaihingen top-right) are validation, the other six train. Classes: car
// (ISPRS index 5) against background (every other class); the boundary pixels (index 0) are
// ignored. UNet, FarSeg and FactSeg, each on ResNet-18 and with its paper's loss (UNet
// cross-entropy, FarSeg annealing focal, FactSeg cp with small object mining), train for the same
// CPU minutes with one recipe (Adam, poly, D4 flips, class-balanced tile sampling), then the two
// validation quadrants are evaluated whole.
//
//   node --import tsx bench/run.ts small-objects   (SMALL_MINUTES=8, SMALL_SEED=0, SMALL_ONLY=unet,factseg)
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gdal from 'gdal-async';
import { stringify } from 'yaml';
import { geoseg } from './dubai.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const samples = join(repo, '..', 'shared', 'data', 'mmseg_rs_samples');

const CROPS = { potsdam: '2_10_0_0_512_512.png', vaihingen: 'area1_0_0_512_512.png' } as const;
const VAL = new Set(['potsdam_q11', 'vaihingen_q01']);

export const SMALL_OBJECT_RUNS: Record<string, { model: Record<string, unknown>; loss?: string }> = {
  unet: { model: { arch: 'unet', encoder: 'resnet18' }, loss: 'ce' },
  farseg: { model: { arch: 'farseg', encoder: 'resnet18' } },
  factseg: { model: { arch: 'factseg', encoder: 'resnet18' } },
};

/** The quadrant scenes and the prepared dataset (rebuilt each time: it is small). */
function dataset(work: string): string {
  rmSync(work, { recursive: true, force: true });
  for (const kind of ['images', 'masks']) mkdirSync(join(work, 'scenes', kind), { recursive: true });
  for (const [name, file] of Object.entries(CROPS)) {
    for (const kind of ['images', 'masks']) {
      const src = gdal.open(join(samples, kind, name, file));
      for (const [qy, qx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const id = `${name}_q${qy}${qx}`;
        const scene = VAL.has(id) ? `val_${id}` : id;
        gdal.translate(join(work, 'scenes', kind, `${scene}.tif`), src, ['-srcwin', String(qx * 256), String(qy * 256), '256', '256']).close();
      }
      src.close();
    }
  }
  writeFileSync(join(work, 'classes.yaml'), stringify({
    ignoreIndex: 255,
    classes: [{ id: 0, name: 'background', color: '#808080', from: [1, 2, 3, 4, 6] }, { id: 1, name: 'car', color: '#FFFF00', from: [5] }],
    ignore: [0],
  }));
  const out = join(work, 'data');
  geoseg(['prepare', '--images', join(work, 'scenes', 'images'), '--labels', join(work, 'scenes', 'masks'), '--classes', join(work, 'classes.yaml'), '--out', out, '--tile', '256', '--overlap', '0']);
  geoseg(['split', out, '--val-scenes', 'val_*', '--sampling', 'class-balanced']);
  return out;
}

export async function smallObjects(): Promise<Record<string, unknown>> {
  if (!existsSync(samples)) throw new Error(`bench small-objects: needs ${samples}`);
  const minutes = Number(process.env.SMALL_MINUTES ?? 8);
  const seed = Number(process.env.SMALL_SEED ?? 0);
  const only = process.env.SMALL_ONLY?.split(',');
  const work = join(repo, 'runs', 'small-objects');
  const data = dataset(work);
  const results: Record<string, any> = { minutes, seed, data: 'mmseg_rs_samples potsdam + vaihingen, 6 train / 2 val quadrants of 256²', runs: {} };
  for (const [name, run] of Object.entries(SMALL_OBJECT_RUNS)) {
    if (only && !only.includes(name)) continue;
    const cfg = {
      out: join(work, `run-${name}`),
      data: { dataset: data, crop: 256, batch: 4, sampling: 'dataset' },
      model: run.model,
      ...(run.loss ? { loss: run.loss } : {}),
      optimizer: { name: 'adam', lr: 0.001, weightDecay: 0.0001 },
      scheduler: { name: 'poly', power: 0.9, warmup: 10 },
      augmentation: { hflip: { p: 0.5 }, vflip: { p: 0.5 }, rot90: { p: 0.5 }, transpose: { p: 0.5 } },
      train: { minutes, logEvery: 20, evalEvery: 0, checkpointEvery: 100, seed, threads: 2 },
      eval: { window: 256, overlap: 0 },
    };
    const file = join(work, `run-${name}.yaml`);
    writeFileSync(file, stringify(cfg));
    console.log(`geoseg: training ${name} for ${minutes} min…`);
    const s = geoseg(['train', '--config', file, '--overwrite']);
    const m = s.lastEval.metrics;
    results.runs[name] = { model: run.model, loss: run.loss ?? 'the architecture\'s', iterations: s.steps, secondsPerIteration: 1 / s.itPerSecond, carIoU: m.iou[1], backgroundIoU: m.iou[0], mIoU: m.mIoU, carPrecision: m.precision?.[1], carRecall: m.recall?.[1] };
    console.log(`  ${s.steps} iterations, car IoU ${(100 * m.iou[1]).toFixed(1)}%, mIoU ${(100 * m.mIoU).toFixed(1)}%`);
    writeFileSync(join(here, `results-small-objects-${minutes}min.json`), JSON.stringify(results, null, 2) + '\n');
  }
  return results;
}
