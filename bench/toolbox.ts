// The practitioner's toolbox on Dubai (issue 21): a trained checkpoint (TOOLBOX_CHECKPOINT,
// default runs/dubai-best, e.g. from `geoseg train --config configs/dubai-best.yaml`) evaluated
// on the tile_8 scenes whole:
//   - plain, and with the dense CRF (eval --crf default);
//   - on tile_8 as seen by "another sensor" (each band through its own gamma and gain, written as
//     new 8-bit scenes), prepared plain and with --match-histograms to the training set (data/dubai
//     prepared with band histograms, i.e. by this version of prepare);
//   - the unshifted tile_8 scenes matched to the training set too (what matching costs when
//     there is no shift: each scene is pulled to the pooled histogram whatever its content).
//
//   node --import tsx bench/run.ts toolbox    (TOOLBOX_PARTS=plain,crf,shifted,shiftedMatched,plainMatched: a subset)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { Raster, writeCog } from '../packages/geoseg/src/index.js';
import { dubaiDataset, geoseg } from './dubai.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const dubai = join(repo, '..', 'shared', 'data', 'dubai_aerial');

/** The sensor shift: band b → 255 · (v/255)^gamma_b · gain_b. */
const SHIFT = { gamma: [1.5, 1.2, 0.8], gain: [0.8, 0.95, 1.0] };

async function shiftedScenes(out: string): Promise<{ images: string; labels: string }> {
  const images = join(out, 'images'), labels = join(out, 'masks');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(images, { recursive: true });
  mkdirSync(labels, { recursive: true });
  for (const f of readdirSync(join(dubai, 'images', 'tile_8'))) {
    const r = await Raster.open(join(dubai, 'images', 'tile_8', f));
    const img = await r.read({ x: 0, y: 0, width: r.info.width, height: r.info.height });
    r.close();
    const shifted = torch.tidy(() => torch.stack(SHIFT.gamma.map((g, b) => img.select(0, b).to('float32').div(255).pow(g).mul(255 * SHIFT.gain[b]).round().clamp(0, 255).to('uint8'))));
    await writeCog(join(images, f.replace(/\.\w+$/, '.tif')), shifted);
    torch.dispose([img, shifted]);
    const mask = f.replace(/\.\w+$/, '.png');
    copyFileSync(join(dubai, 'masks', 'tile_8', mask), join(labels, mask));
  }
  return { images, labels };
}

export async function toolboxBench(): Promise<Record<string, unknown>> {
  const checkpoint = process.env.TOOLBOX_CHECKPOINT ?? join(repo, 'runs', 'dubai-best');
  const dataset = dubaiDataset();
  const ds = JSON.parse(readFileSync(join(dataset, 'dataset.json'), 'utf8'));
  if (!ds.histograms) throw new Error(`${dataset}: prepared without band histograms; remove it and run again (bench toolbox re-prepares it)`);
  const classes = join(repo, 'configs', 'dubai-classes.yaml');
  const evaluate = (data: string, split: string, ...extra: string[]) => {
    const t = performance.now();
    const r = geoseg(['eval', '--checkpoint', checkpoint, '--data', data, '--split', split, ...extra]);
    return { mIoU: r.mIoU, iou: r.iou, seconds: (performance.now() - t) / 1000 };
  };
  const parts = (process.env.TOOLBOX_PARTS ?? 'plain,crf,shifted,shiftedMatched,plainMatched').split(',');
  const results: Record<string, any> = { checkpoint, shift: SHIFT };
  if (parts.includes('plain')) {
    console.log('toolbox: tile_8 plain …');
    results.plain = evaluate(dataset, 'val');
  }
  if (parts.includes('crf')) {
    console.log('toolbox: tile_8 with the dense CRF …');
    results.crf = evaluate(dataset, 'val', '--crf', 'default');
  }
  const work = join(repo, 'data', 'toolbox');
  const shifted = parts.some((p) => p.startsWith('shifted')) ? await shiftedScenes(join(work, 'shifted-scenes')) : null;
  const original = { images: join(dubai, 'images', 'tile_8'), labels: join(dubai, 'masks', 'tile_8') };
  const variants = [['shifted', shifted, []], ['shiftedMatched', shifted, ['--match-histograms', dataset]], ['plainMatched', original, ['--match-histograms', dataset]]] as const;
  for (const [name, scenes, extra] of variants) {
    if (!parts.includes(name) || !scenes) continue;
    const out = join(work, name);
    geoseg(['prepare', '--images', scenes.images, '--labels', scenes.labels, '--classes', classes, '--out', out, '--tile', '512', '--overlap', '0.25', '--overwrite', ...extra]);
    console.log(`toolbox: ${name} …`);
    results[name] = evaluate(out, 'all');
  }
  const names: string[] = ds.classes.map((c: { name: string }) => c.name);
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : '—');
  const sides = parts.filter((p) => results[p]);
  const rows = [['class', ...sides], ...names.map((n, i) => [n, ...sides.map((s) => pct(results[s].iou[i]))]), ['mIoU', ...sides.map((s) => pct(results[s].mIoU))], ['eval s', ...sides.map((s) => results[s].seconds.toFixed(0))]];
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(22) : c.padStart(16))).join(''));
  return results;
}
