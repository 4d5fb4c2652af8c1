// Many-scene prediction throughput (issue 19): the in-repo Dubai subset's scenes (39 aerial
// images, 17.6 Mpx) through a random-weight UNet-ResNet18 (the speed does not depend on the
// weights) with `geoseg predict --output-dir`, as 1 process × 2 threads and as 2 workers
// (`--nproc 2`) × 1 thread sharing the scenes through the rendezvous store.
//
// PREDICT_MANY_SCENE=tall: one 3072 × 6144 scene instead (a real Dubai image repeated), which the
// 2 workers share in parts (--part-rows 4: 4 parts of its 16 window rows).
//
//   node --import tsx bench/run.ts predict-many
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { createModel } from '../packages/geoseg/src/models/index.js';
import { saveCheckpoint } from '../packages/geoseg/src/models/checkpoint.js';
import { makeScene } from './predict.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const work = join(repo, '.bench-out', 'predict-many');

function checkpoint(): string {
  const config = { arch: 'unet', encoder: 'resnet18', classes: 6, inChannels: 3 };
  const out = join(work, 'checkpoint');
  torch.manualSeed(0);
  const m = createModel(config);
  saveCheckpoint(out, m, null, {
    step: 0, elapsedSeconds: 0, model: config, classes: Array.from({ length: 6 }, (_, id) => ({ id, name: `c${id}`, color: [40 * id, 90, 200 - 30 * id] as [number, number, number] })),
    ignoreIndex: 255, bands: 3, dtype: 'uint8', normalization: { mean: [120, 120, 120], std: [60, 60, 60], scale: [255, 255, 255] },
    config: null, scheduler: null, best: null, lastEval: null,
  });
  m.dispose();
  return out;
}

export async function predictManyBench(): Promise<{ setup: string; seconds: number; megapixelsPerSecond: number; parts: number }[]> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const ckpt = checkpoint();
  const tall = process.env.PREDICT_MANY_SCENE === 'tall';
  const input = tall ? await makeScene(3072, 6144, join(work, 'tall')) : join(repo, 'demo', 'dubai', 'images');
  const megapixels = tall ? (3072 * 6144) / 1e6 : 17.6;
  const rows = [];
  for (const [setup, flags] of [['1 process × 2 threads', ['--threads', '2']], ['2 workers × 1 thread', ['--nproc', '2', '--threads', '1', ...(tall ? ['--part-rows', '4'] : [])]]] as const) {
    const out = join(work, setup.startsWith('1') ? 'one' : 'two');
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', ckpt, '--input', input, '--output-dir', out, '--json', ...flags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`predict (${setup}) failed`);
    const seconds = (performance.now() - t0) / 1000;
    const parts = Math.max(...JSON.parse(r.stdout).predicted.map((p: { parts: number }) => p.parts));
    rows.push({ setup, seconds, megapixelsPerSecond: megapixels / seconds, parts });
  }
  if (tall) {
    // the same pixels either way (the parts' blending is the whole scene's)
    const classes = (dir: string) => { const ds = gdal.open(join(dir, 'scene-3072x6144.tif')); const px = ds.bands.get(1).pixels.read(0, 0, 3072, 6144) as Uint8Array; ds.close(); return px; };
    const [a, b] = [classes(join(work, 'one')), classes(join(work, 'two'))];
    if (!a.every((v, i) => v === b[i])) throw new Error('predict-many: the scene in parts differs from the scene whole');
  }
  for (const r of rows) console.log(`${r.setup}: ${r.seconds.toFixed(1)} s, ${r.megapixelsPerSecond.toFixed(2)} Mpx/s (${(r.megapixelsPerSecond / rows[0]!.megapixelsPerSecond).toFixed(2)}× one process)${r.parts > 1 ? `, the scene in ${r.parts} parts` : ''}`);
  return rows;
}
