// Streaming prediction of scenes of any size. Windows are planned over the scene row by row
// (evenly spaced, at least the asked overlap); a batch of windows is read through GDAL
// asynchronously while the previous one computes, and predicted under inference mode. Its blended
// probabilities are summed into a block buffer one window tall and one batch wide; as the batches
// move right, the columns that no later window of the row reaches are written out (the rows the
// next window row does not reach) or kept in a carry buffer (the rows it does, at most window −
// stride of them). Memory: model + batch + block + carry (classes × overlap rows × scene width),
// whatever the scene's height.
//
// Outputs go to a work folder beside the output (`.<name>.geoseg-partial/`) with a state file
// written after every window row: `resume` continues an interrupted run from there. The final
// COGs are made from the finished work rasters and renamed into place.
import gdal from 'gdal-async';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { planTiles } from '../data/tiling.js';
import { GeosegError } from '../errors.js';
import { Progress } from '../progress.js';
import { Raster, type Window } from '../raster/index.js';
import { loadCheckpoint, type CheckpointMeta } from '../train/checkpoint.js';
import { useChannelsLast, type SegmentationModel } from '../models/index.js';
import { blendProfile, type BlendMode } from './blend.js';
import { postprocess, type PostprocessOptions } from './postprocess.js';
import { predictWindows } from './scene-predict.js';
import { ttaTransforms } from './tta.js';
import { vectorize } from './vectorize.js';
import { CLASSES_METADATA_KEY } from '../raster/write.js';
import { writeMapManifest } from '../train/eval-maps.js';

export interface PredictOptions {
  checkpoint: string;
  input: string;
  output: string;
  window?: number;
  overlap?: number;
  batch?: number;
  blend?: BlendMode;
  tta?: string | string[];
  /** Also write the winning probability (uint8, 0–255) here. */
  confidence?: string | null;
  /** Also write every class's probability (uint8 bands, 0–255) here. */
  probabilities?: string | null;
  post?: PostprocessOptions;
  /**
   * Also write map.json in the output's folder (image = the input, prediction, confidence), so
   * `geoseg serve` lists the result as a map.
   */
  map?: boolean;
  /** Polygons of each class (.geojson or .gpkg). */
  vector?: string | null;
  simplify?: number;
  overwrite?: boolean;
  resume?: boolean;
  progress?: boolean;
  device?: string;
  /** Checked after every window row; true stops (the work folder is kept for --resume). */
  shouldStop?: () => boolean;
}

export interface PredictSummary {
  output: string;
  confidence: string | null;
  probabilities: string | null;
  vector: string | null;
  /** The map.json written with `map`. */
  map: string | null;
  width: number;
  height: number;
  windows: number;
  seconds: number;
  megapixelsPerSecond: number;
  peakRssMB: number;
  resumedFromRow: number;
  stopped: boolean;
  /** Per class: pixels and area in CRS units² (null without a geotransform). */
  classes: { id: number; name: string; pixels: number; area: number | null }[];
}

const NODATA_CLASS = 255;
const SUPPORTED_TYPES = new Set(['Byte', 'Int8', 'UInt16', 'Int16', 'UInt32', 'Int32', 'Float32', 'Float64']);

interface WorkState {
  version: 1;
  key: string;
  /** Window rows fully processed and flushed. */
  rowsDone: number;
  /** Scene rows written to the work rasters. */
  flushedTo: number;
}

/**
 * Window start offsets along one axis: as many windows as the tiler would use (stride from the
 * overlap, the last window at the border), spread evenly, so every overlap is at least the asked
 * one and none is much larger (the tiler's snapped last window can overlap its neighbour by
 * almost a whole window, and the rows carried between window rows would grow with it).
 */
export function windowStarts(size: number, window: number, overlap: number): number[] {
  const n = planTiles(size, 1, { tile: window, overlap, minTile: 32 }).length;
  if (n === 1) return [0];
  return Array.from({ length: n }, (_, k) => Math.round((k * (size - window)) / (n - 1)));
}

/** Total blending weight along one axis: the sum of the profile over the windows covering each position. */
function axisTotal(starts: number[], length: number, profile: Tensor): Tensor {
  const total = torch.zeros([length]);
  for (const s of starts) total.narrow(0, s, profile.shape[0]).add_(profile);
  return total;
}

function checkWritable(path: string, overwrite: boolean): void {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new GeosegError(`${path}: output folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new GeosegError(`${path}: output folder ${folder} is not writable`);
  }
  if (existsSync(path) && !overwrite) throw new GeosegError(`${path}: already exists (pass --overwrite to replace it)`);
}

function createWorkRaster(path: string, width: number, height: number, bands: number, info: Raster['info']): gdal.Dataset {
  const ds = gdal.open(path, 'w', 'GTiff', width, height, bands, 'Byte', ['TILED=YES', 'COMPRESS=DEFLATE', 'BIGTIFF=IF_SAFER']);
  if (info.geoTransform) ds.geoTransform = info.geoTransform;
  if (info.crs) ds.srs = gdal.SpatialReference.fromWKT(info.crs);
  return ds;
}

/** Per-band normalization tensors [bands, 1, 1]. */
function normalizer(meta: CheckpointMeta): { mean: Tensor; std: Tensor } {
  const b = meta.bands;
  return {
    mean: torch.tensor(meta.normalization.mean, { shape: [b, 1, 1] }).keep(),
    std: torch.tensor(meta.normalization.std.map((s) => Math.max(s, 1e-6)), { shape: [b, 1, 1] }).keep(),
  };
}

export async function predict(opts: PredictOptions): Promise<PredictSummary> {
  const started = performance.now();
  // A small GDAL block cache: rows are read once, in order, and written once (GDAL_CACHEMAX overrides).
  if (!process.env.GDAL_CACHEMAX) gdal.config.set('GDAL_CACHEMAX', '16');
  torch.setMallocArenaMax(1); // threads' malloc arenas each keep a high-water mark of freed activations
  // Strips are written synchronously while the next rows are read asynchronously, on purpose
  // (a short wait on GDAL's lock, not a bug): keep gdal-async from warning on every block.
  (gdal as unknown as { eventLoopWarning: boolean }).eventLoopWarning = false;
  const S = opts.window ?? 512;
  const overlap = opts.overlap ?? 0.25;
  const batch = opts.batch ?? 4;
  const blend = opts.blend ?? 'hann';
  const tta = opts.tta ?? 'none';
  if (!Number.isInteger(S) || S < 32 || S % 32 !== 0) throw new GeosegError(`window ${S} is not a multiple of 32 (e.g. 256, 512, 1024)`);
  if (!(overlap >= 0 && overlap < 1)) throw new GeosegError(`overlap ${overlap} must be a fraction in [0, 1)`);
  ttaTransforms(tta); // validates
  const output = resolve(opts.output);
  const mapFile = opts.map ? join(dirname(output), 'map.json') : null;
  const extra = [opts.confidence, opts.probabilities, opts.vector, mapFile].filter((p): p is string => !!p).map((p) => resolve(p));
  for (const p of [output, ...extra]) checkWritable(p, opts.overwrite ?? false);

  const { model, meta, dir } = loadCheckpoint(opts.checkpoint);
  if (opts.device && opts.device !== 'cpu') model.to(opts.device as torch.Device);
  model.eval();
  useChannelsLast(model);
  const raster = await Raster.open(opts.input);
  const info = raster.info;
  const work = join(dirname(output), `.${basename(output)}.geoseg-partial`);
  let classesDs: gdal.Dataset | null = null;
  let confDs: gdal.Dataset | null = null;
  let probDs: gdal.Dataset | null = null;
  const norm = normalizer(meta);
  try {
    if (info.bandCount !== meta.bands) throw new GeosegError(`${opts.input}: has ${info.bandCount} bands, the model ${dir} takes ${meta.bands}`);
    const badType = info.dataTypes.find((t) => !SUPPORTED_TYPES.has(t));
    if (badType) throw new GeosegError(`${opts.input}: band data type ${badType} cannot be fed to the model (real-valued bands only)`);
    const { width: W, height: H } = info;
    const K = meta.classes.length;
    const ys = windowStarts(H, S, overlap);
    const xs = windowStarts(W, S, overlap);
    const Wacc = Math.max(W, S);

    // Work folder and resume state.
    const key = JSON.stringify({ input: resolve(opts.input), checkpoint: dir, step: meta.step, S, overlap, blend, tta, conf: !!opts.confidence, prob: !!opts.probabilities, grid: 'even' });
    const stateFile = join(work, 'state.json');
    let state: WorkState = { version: 1, key, rowsDone: 0, flushedTo: 0 };
    if (opts.resume && existsSync(stateFile)) {
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as WorkState;
      if (saved.key !== key) throw new GeosegError(`${output}: the interrupted run used other inputs or options; run without --resume to start over`);
      state = saved;
      classesDs = gdal.open(join(work, 'classes.tif'), 'r+');
      if (opts.confidence) confDs = gdal.open(join(work, 'confidence.tif'), 'r+');
      if (opts.probabilities) probDs = gdal.open(join(work, 'probabilities.tif'), 'r+');
    } else {
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work);
      classesDs = createWorkRaster(join(work, 'classes.tif'), W, H, 1, info);
      if (opts.confidence) confDs = createWorkRaster(join(work, 'confidence.tif'), W, H, 1, info);
      if (opts.probabilities) probDs = createWorkRaster(join(work, 'probabilities.tif'), W, H, K, info);
    }
    const saveState = () => {
      writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
      renameSync(`${stateFile}.tmp`, stateFile);
    };
    saveState();

    // Separable blending: window weight w(y)·w(x), so a pixel's total weight is Ty(y)·Tx(x).
    const profile = blendProfile(S, blend).keep();
    const weight2d = profile.unsqueeze(1).mul(profile.unsqueeze(0)).keep();
    const rowTotal = axisTotal(ys, Math.max(H, S), profile).keep();
    const colTotal = axisTotal(xs, Wacc, profile).keep();
    const nodata = info.nodata[0];
    const hasNodata = nodata !== null && info.nodata.every((v) => v === nodata);

    // Batches in reading order: window row r, windows xs[i .. i + batch).
    const groupStarts: number[] = [];
    for (let i = 0; i < xs.length; i += batch) groupStarts.push(i);
    const groupSpan = (i: number) => xs[Math.min(i + batch, xs.length) - 1] + S - xs[i];
    // Channels: the weighted class sums, plus (with a nodata value) one counting windows that saw
    // the pixel as nodata in every band.
    const channels = K + (hasNodata ? 1 : 0);
    // `block`: the sums of the window row being predicted, over the columns of one batch; the
    // columns no later batch of the row reaches are written (rows the next window row does not
    // reach) or moved to `carry` (rows it does), the others stay for the next batch.
    const block = torch.zeros([channels, S, Math.max(...groupStarts.map(groupSpan))]).keep();
    const carryRows = Math.max(1, ...ys.slice(1).map((y1, r) => ys[r] + S - y1));
    const carry = torch.zeros([channels, carryRows, Wacc]).keep();
    const windowsTotal = ys.length * xs.length;
    const progress = new Progress('predict', windowsTotal, 'windows', opts.progress ?? false);
    // Redo every window row that reaches below the written rows: their carry was in memory.
    const firstRow = state.flushedTo === 0 ? 0 : Math.max(0, ys.findIndex((y0) => y0 + S > state.flushedTo));
    const doneBefore = state.rowsDone;
    const resumed = state.flushedTo > 0;
    progress.set(state.rowsDone * xs.length);
    const batches: { r: number; i: number }[] = [];
    for (let r = firstRow; r < ys.length; r++) for (const i of groupStarts) batches.push({ r, i });
    const readBatch = ({ r, i }: { r: number; i: number }) =>
      Promise.all(xs.slice(i, i + batch).map((x) => raster.read({ x, y: ys[r], width: S, height: S } as Window)));
    // The next batch is read while this one computes; a failed read ahead is reported when
    // awaited, never as an unhandled rejection.
    const ahead = (k: number) => { const p = k < batches.length ? readBatch(batches[k]) : Promise.resolve([]); p.catch(() => undefined); return p; };
    let nextBatch = 0;
    let pending = ahead(nextBatch);
    const classCounts = new Float64Array(K);
    let stopped = false;

    /** Writes rows [r0, r0 + h) of the block's first `w` columns (scene column a, row y). */
    const writeBlock = async (y: number, a: number, r0: number, h: number, w: number) => {
      const out = torch.tidy(() => {
        const sums = block.narrow(1, r0, h).narrow(2, 0, w);
        const scores = sums.narrow(0, 0, K);
        // The class is the argmax of the weighted sums (every class shares a pixel's total weight).
        const [best, cls] = scores.max(0);
        const total = rowTotal.narrow(0, y + r0, h).view([-1, 1]).mul(colTotal.narrow(0, a, w).view([1, -1]));
        const classes = cls.to('uint8');
        const bad = hasNodata ? sums.select(0, K).gt(0) : undefined;
        if (bad) classes.maskedFill_(bad, NODATA_CLASS);
        const counts = torch.bincount(classes.reshape([-1]).to('int64'), null, 256).narrow(0, 0, K);
        return {
          classes: classes.contiguous(), counts,
          conf: confDs ? maskedOrSame(best.div_(total).mul_(255).round_().to('uint8'), bad, 0).contiguous() : null,
          probs: probDs ? scores.div(total.unsqueeze(0)).mul_(255).round_().to('uint8').contiguous() : null,
        };
      });
      try {
        (out.counts.data() as BigInt64Array).forEach((n, k) => { classCounts[k] += Number(n); });
        await classesDs!.bands.get(1).pixels.writeAsync(a, y + r0, w, h, out.classes.data() as Uint8Array);
        if (out.conf) await confDs!.bands.get(1).pixels.writeAsync(a, y + r0, w, h, out.conf.data() as Uint8Array);
        if (out.probs) {
          for (let k = 0; k < K; k++) {
            const band = out.probs.select(0, k).contiguous();
            await probDs!.bands.get(k + 1).pixels.writeAsync(a, y + r0, w, h, band.data() as Uint8Array);
            band.dispose();
          }
        }
      } finally {
        torch.dispose(out);
      }
    };

    try {
      for (let r = firstRow; r < ys.length; r++) {
        const y = ys[r];
        // Rows [y, y + top) hold sums from the row above; rows [y, next) are complete after this
        // row, rows [next, y + S) go on to the next one.
        const top = r > firstRow ? ys[r - 1] + S - y : 0;
        const next = r + 1 < ys.length ? ys[r + 1] : Math.min(H, y + S);
        const bottom = r + 1 < ys.length ? y + S - next : 0;
        const skip = Math.max(0, state.flushedTo - y); // already written before an interruption
        let kept = 0; // leading block columns kept from the previous batch
        for (const i of groupStarts) {
          const a = xs[i], span = groupSpan(i);
          const lastIndex = Math.min(i + batch, xs.length) - 1;
          // Columns [a, end) are complete for this row: no later window of the row reaches them.
          const end = lastIndex + 1 < xs.length ? xs[lastIndex + 1] : Math.min(W, a + span);
          torch.tidy(() => {
            const fresh = block.narrow(2, kept, span - kept);
            fresh.zero_();
            if (top > 0) fresh.narrow(1, 0, top).copy_(carry.narrow(1, 0, top).narrow(2, a + kept, span - kept));
          });
          const group = await pending;
          pending = ahead(++nextBatch);
          try {
            torch.inferenceMode(() => torch.tidy(() => {
              const raw = torch.stack(group);
              const x = raw.to('float32').sub(norm.mean).div(norm.std);
              // Nodata pixels enter the model as the mean, not as their raw fill value.
              const nodataMask = hasNodata ? raw.eq(nodata!).all(1) : null;
              if (nodataMask) x.maskedFill_(nodataMask.unsqueeze(1), 0);
              // Outside the scene (windows larger than it): zeros, i.e. the mean.
              if (W < S) x.narrow(3, W, S - W).zero_();
              if (H < S) x.narrow(2, H, S - H).zero_();
              const p = predictWindows(model, x, tta);
              group.forEach((_, j) => {
                const target = block.narrow(2, xs[i + j] - a, S);
                target.narrow(0, 0, K).addcmul_(p.select(0, j), weight2d);
                if (nodataMask) target.select(0, K).add_(nodataMask.select(0, j));
              });
            }));
          } finally {
            torch.dispose(group);
          }
          // Freed activations go back to the system after each batch, so glibc's heap does not
          // ratchet up to a high-water mark well above what is live (~100 MB less peak, ~3% time).
          torch.mallocTrim();
          const done = end - a;
          if (next - y > skip) await writeBlock(y, a, skip, next - y - skip, done);
          kept = span - done;
          torch.tidy(() => {
            if (bottom > 0) carry.narrow(1, 0, bottom).narrow(2, a, done).copy_(block.narrow(1, next - y, bottom).narrow(2, 0, done));
            // The columns the next batch shares move to the block's start (through a clone: the regions may overlap).
            if (kept > 0) block.narrow(2, 0, kept).copy_(block.narrow(2, done, kept).clone());
          });
        }
        classesDs!.flush();
        confDs?.flush();
        probDs?.flush();
        state = { ...state, rowsDone: Math.max(state.rowsDone, r + 1), flushedTo: Math.max(state.flushedTo, next) };
        saveState();
        if (r >= doneBefore) progress.tick(xs.length, `${(((r + 1 - firstRow) * xs.length * S * S) / 1e6 / ((performance.now() - started) / 1000)).toFixed(1)} Mpx/s (windows)`);
        if (opts.shouldStop?.() && r + 1 < ys.length) {
          stopped = true;
          break;
        }
      }
    } finally {
      await pending.then((imgs) => torch.dispose(imgs), () => undefined);
      torch.dispose([block, carry, rowTotal, colTotal, profile, weight2d]);
    }
    // Resumed runs count only the rows they wrote: recount the finished raster.
    if (!stopped && resumed) classCounts.set(await countRaster(classesDs!, K));
    const palette = meta.classes.map((c) => c.color);
    classesDs!.close();
    confDs?.close();
    probDs?.close();
    classesDs = confDs = probDs = null;
    const summaryBase = { width: W, height: H, windows: windowsTotal, resumedFromRow: firstRow };
    if (stopped) {
      return { output, confidence: null, probabilities: null, vector: null, map: null, ...summaryBase, seconds: (performance.now() - started) / 1000, megapixelsPerSecond: 0, peakRssMB: peakRss(), stopped, classes: [] };
    }

    // Post-processing on the finished class raster, then COGs renamed into place.
    if (opts.post && Object.values(opts.post).some((v) => v)) {
      await postprocess(join(work, 'classes.tif'), K, hasNodata ? NODATA_CLASS : null, opts.post);
      if (opts.post.sieve || opts.post.fillHoles || opts.post.open || opts.post.close) classCounts.set(await withDataset(join(work, 'classes.tif'), (ds) => countRaster(ds, K)));
    }
    const classMeta = { [CLASSES_METADATA_KEY]: JSON.stringify(meta.classes.map((c) => ({ id: c.id, name: c.name, color: c.color }))) };
    await toCog(join(work, 'classes.tif'), output, { palette, nodata: hasNodata ? NODATA_CLASS : null, metadata: classMeta });
    const confidence = opts.confidence ? resolve(opts.confidence) : null;
    if (confidence) await toCog(join(work, 'confidence.tif'), confidence, { nodata: hasNodata ? 0 : null });
    const probabilities = opts.probabilities ? resolve(opts.probabilities) : null;
    if (probabilities) await toCog(join(work, 'probabilities.tif'), probabilities, {});
    const vector = opts.vector ? resolve(opts.vector) : null;
    if (vector) await vectorize(output, vector, meta.classes, { simplify: opts.simplify ?? 0, nodata: hasNodata ? NODATA_CLASS : null, overwrite: opts.overwrite ?? false });
    if (mapFile) {
      const rel = (p: string) => relative(dirname(output), p).split(sep).join('/');
      writeMapManifest(dirname(output), {
        title: basename(output), classes: meta.classes.map((c) => ({ id: c.id, name: c.name, color: c.color })), ignoreIndex: NODATA_CLASS,
        layers: { image: rel(resolve(opts.input)), prediction: rel(output), truth: null, confidence: confidence ? rel(confidence) : null },
      });
    }
    rmSync(work, { recursive: true, force: true });
    const seconds = (performance.now() - started) / 1000;
    const pixelArea = info.geoTransform ? Math.abs(info.geoTransform[1] * info.geoTransform[5] - info.geoTransform[2] * info.geoTransform[4]) : null;
    return {
      output, confidence, probabilities, vector, map: mapFile, ...summaryBase, seconds, megapixelsPerSecond: (W * H) / 1e6 / seconds, peakRssMB: peakRss(), stopped,
      classes: meta.classes.map((c, k) => ({ id: c.id, name: c.name, pixels: classCounts[k], area: pixelArea === null ? null : classCounts[k] * pixelArea })),
    };
  } finally {
    classesDs?.close();
    confDs?.close();
    probDs?.close();
    raster.close();
    torch.dispose([norm.mean, norm.std]);
    model.dispose();
  }
}

export function peakRss(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function withDataset<T>(path: string, fn: (ds: gdal.Dataset) => Promise<T>): Promise<T> {
  const ds = await gdal.openAsync(path);
  try {
    return await fn(ds);
  } finally {
    ds.close();
  }
}

/** Pixels per class of a class raster, in strips. */
async function countRaster(ds: gdal.Dataset, K: number): Promise<Float64Array> {
  const { x: W, y: H } = ds.rasterSize;
  const counts = new Float64Array(K);
  for (let y = 0; y < H; y += 512) {
    const h = Math.min(512, H - y);
    const data = await ds.bands.get(1).pixels.readAsync(0, y, W, h, new Uint8Array(W * h));
    torch.tidy(() => {
      const c = torch.bincount(torch.tensor(data as Uint8Array).to('int64'), null, 256).narrow(0, 0, K).data() as BigInt64Array;
      c.forEach((n, k) => { counts[k] += Number(n); });
    });
  }
  return counts;
}

/** `t` with `value` where `mask` is set (no mask: `t` itself). */
const maskedOrSame = (t: Tensor, mask: Tensor | undefined, value: number) => (mask ? t.maskedFill_(mask, value) : t);

/** A work GeoTIFF → COG at `path` (temp file + rename), with palette / nodata when given. */
async function toCog(src: string, path: string, { palette, nodata, metadata }: { palette?: [number, number, number][]; nodata?: number | null; metadata?: Record<string, string> }): Promise<void> {
  const ds = await gdal.openAsync(src, 'r+');
  try {
    if (metadata) ds.setMetadata(metadata);
    const band = ds.bands.get(1);
    if (nodata !== null && nodata !== undefined) for (let b = 1; b <= ds.bands.count(); b++) ds.bands.get(b).noDataValue = nodata;
    if (palette) {
      const table = new gdal.ColorTable(gdal.GPI_RGB);
      for (let i = 0; i < 256; i++) {
        const [r, g, b] = palette[i] ?? [0, 0, 0];
        table.set(i, { c1: r, c2: g, c3: b, c4: i < palette.length ? 255 : 0 });
      }
      band.colorTable = table;
    }
    ds.flush();
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    try {
      const out = await gdal.drivers.get('COG').createCopyAsync(tmp, ds, { COMPRESS: 'DEFLATE', BLOCKSIZE: '512', OVERVIEW_RESAMPLING: palette ? 'MODE' : 'AVERAGE', BIGTIFF: 'IF_SAFER' });
      out.close();
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new GeosegError(`${path}: cannot write (${(e as Error).message})`);
    }
  } finally {
    ds.close();
  }
}

export type { SegmentationModel };
