// geoseg predict on large scenes (issue 6): throughput against the Python reference
// (bench/predict_ref.py, mmsegmentation-style slide with full-scene logits) on the same 8192²
// scene, and peak memory at 8192² vs 16384² (the strip buffer keeps it flat in the height).
//
//   node --import tsx bench/run.ts predict     (PREDICT_SIZES=8192,16384; PREDICT_REFERENCE=0 skips Python;
//                                              PREDICT_ARCH=hrnet_ocr: HRNetV2-W18 + OCR instead of UNet-ResNet18, geoseg only;
//                                              PREDICT_PRECISION=bf16: geoseg predict --precision bf16, issue 20's target ≥ 6×)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { createModel, modelFlops } from '../packages/geoseg/src/models/index.js';
import { measurePeak } from './peak.js';
import { saveCheckpoint } from '../packages/geoseg/src/models/checkpoint.js';
import { pythonWithTorch } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const work = join(repo, '.bench-out', 'predict');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const dubaiImage = join(repo, '..', 'shared', 'data', 'dubai_aerial', 'images', 'tile_8', 'image_part_001.jpg');

/** A size × height 3-band scene (default square): a real Dubai image repeated (or a pattern without ../shared), georeferenced. */
export async function makeScene(size: number, height = size, folder = work): Promise<string> {
  const path = join(folder, height === size ? `scene-${size}.tif` : `scene-${size}x${height}.tif`);
  if (existsSync(path)) return path;
  mkdirSync(folder, { recursive: true });
  const ds = gdal.open(path, 'w', 'GTiff', size, height, 3, 'Byte', ['TILED=YES', 'COMPRESS=DEFLATE', 'BIGTIFF=YES']);
  ds.geoTransform = [500000, 0.5, 0, 2800000, 0, -0.5];
  ds.srs = gdal.SpatialReference.fromEPSG(32640);
  const src = existsSync(dubaiImage) ? gdal.open(dubaiImage) : null;
  const tw = src ? src.rasterSize.x : 1024, th = src ? src.rasterSize.y : 1024;
  for (let b = 1; b <= 3; b++) {
    const tile = src ? (src.bands.get(b).pixels.read(0, 0, tw, th) as Uint8Array) : Uint8Array.from({ length: tw * th }, (_, i) => (i * 7 + b * 31) % 251);
    for (let y = 0; y < height; y += th) {
      for (let x = 0; x < size; x += tw) {
        const w = Math.min(tw, size - x), h = Math.min(th, height - y);
        const part = new Uint8Array(w * h);
        for (let r = 0; r < h; r++) part.set(tile.subarray(r * tw, r * tw + w), r * w);
        ds.bands.get(b).pixels.write(x, y, w, h, part);
      }
    }
  }
  ds.close();
  src?.close();
  return path;
}

const MODELS: Record<string, { arch: string; encoder: string }> = {
  unet: { arch: 'unet', encoder: 'resnet18' },
  hrnet_ocr: { arch: 'hrnet_ocr', encoder: 'hrnetv2_w18' },
};
const modelName = process.env.PREDICT_ARCH ?? 'unet';
const precision = process.env.PREDICT_PRECISION ?? 'fp32';

function checkpoint(): string {
  if (!MODELS[modelName]) throw new Error(`bench predict: PREDICT_ARCH ${modelName} is not one of ${Object.keys(MODELS).join(', ')}`);
  const dir = join(work, modelName === 'unet' ? 'unet-r18' : modelName);
  if (existsSync(join(dir, 'meta.json'))) return dir;
  torch.manualSeed(0);
  const config = { ...MODELS[modelName], classes: 5, inChannels: 3 };
  const model = createModel(config);
  saveCheckpoint(dir, model, null, {
    step: 0, elapsedSeconds: 0, model: config, classes: ['a', 'b', 'c', 'd', 'e'].map((name, id) => ({ id, name, color: [id * 50, 100, 200 - id * 40] as [number, number, number] })),
    ignoreIndex: 255, bands: 3, dtype: 'uint8', normalization: { mean: [100, 100, 100], std: [50, 50, 50], scale: [255, 255, 255] },
    config: null, scheduler: null, best: null, lastEval: null,
  });
  model.dispose();
  return dir;
}

function geosegPredict(scene: string, threads: number): { seconds: number; megapixelsPerSecond: number; peakRssMB: number; windows: number } {
  const out = join(work, 'out.tif');
  const r = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', checkpoint(), '--input', scene, '--output', out, '--window', '512', '--overlap', '0.25', '--batch', '4', '--overwrite', '--threads', String(threads), '--precision', precision, '--json'],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`geoseg predict failed: ${r.stderr}`);
  rmSync(out, { force: true });
  return JSON.parse(r.stdout);
}

export async function predictBench(threads: number): Promise<Record<string, unknown>> {
  mkdirSync(work, { recursive: true });
  const sizes = (process.env.PREDICT_SIZES ?? '8192,16384').split(',').map(Number);
  const results: Record<string, unknown> = {};
  // FLOPs per 512² window (no TTA): achieved GFLOP/s and its share of the measured peak
  const windowFlops = torch.tidy(() => {
    const m = createModel({ ...MODELS[modelName]!, classes: 5, inChannels: 3 });
    const f = modelFlops(m, [1, 3, 512, 512]).forward;
    m.dispose();
    return f;
  });
  const peak = measurePeak(threads);
  for (const size of sizes) {
    const scene = await makeScene(size);
    const g = geosegPredict(scene, threads);
    const gflops = (g.windows * windowFlops) / (g.seconds * 1e9);
    results[`geoseg${size}`] = { ...g, gflopsPerSecond: gflops };
    const share = (100 * gflops) / (precision === 'bf16' ? peak.bf16 : peak.fp32);
    console.log(`geoseg predict ${size}² (${modelName}, ${precision}): ${g.seconds.toFixed(0)} s, ${g.megapixelsPerSecond.toFixed(3)} Mpx/s, ${g.windows} windows, ${gflops.toFixed(0)} GFLOP/s (${share.toFixed(0)}% of peak), peak RSS ${g.peakRssMB.toFixed(0)} MB`);
    if (size === sizes[0] && process.env.PREDICT_REFERENCE !== '0' && modelName === 'unet') {
      const out = execFileSync(pythonWithTorch(), [join(here, 'predict_ref.py'), scene, join(work, 'ref.tif'), String(threads), '512', '4'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const p = JSON.parse(out.trim().split('\n').pop()!);
      results[`python${size}`] = p;
      console.log(`python slide ${size}²: ${p.seconds.toFixed(0)} s, ${p.megapixelsPerSecond.toFixed(3)} Mpx/s, peak RSS ${p.peakRssMB.toFixed(0)} MB; throughput ratio geoseg/python ${(g.megapixelsPerSecond / p.megapixelsPerSecond).toFixed(2)} (target ≥ ${precision === 'bf16' ? 6 : 1.5})`);
    }
  }
  const a = results[`geoseg${sizes[0]}`] as { peakRssMB: number }, b = results[`geoseg${sizes[sizes.length - 1]}`] as { peakRssMB: number };
  if (sizes.length > 1) console.log(`peak RSS ${sizes[sizes.length - 1]}² / ${sizes[0]}²: ${(b.peakRssMB / a.peakRssMB).toFixed(3)} (target ≤ 1.15, and < 1024 MB)`);
  return results;
}
