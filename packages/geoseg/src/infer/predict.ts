// Streaming prediction of scenes of any size. Windows are planned over the scene row by row
// (evenly spaced, at least the asked overlap); a batch of windows is read through GDAL
// asynchronously while the previous one computes, and predicted under inference mode. Its blended
// probabilities are summed into a block buffer one window tall and one batch wide; as the batches
// move right, the columns that no later window of the row reaches are written out (the rows the
// next window row does not reach) or kept in a carry buffer (the rows it does, at most window −
// stride of them). Memory: model + batch + block + carry (classes × overlap rows × scene width),
// whatever the scene's height.
//
// The finished rows of each window row are kept as uint8 (classes, confidence, probabilities)
// and written as one durable chunk per window row to a work folder beside the output (see
// work-folder.ts): `resume` continues an interrupted run from the last chunk on disk. The final
// COGs are made from a mosaic of the chunks in the work folder, then renamed into place, so the
// output path never holds a partial file.
//
// NaN (and infinite) pixels are nodata in every raster, declared or not: they enter the model as
// the mean, like declared nodata, and come out as nodata.
import gdal from 'gdal-async';
import { existsSync, statSync, accessSync, constants } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
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
import { writeMapManifest } from '../map-manifest.js';
import { fsyncPath, renameDurable } from '../durable.js';
import { checkPlan, checkWindowOptions } from './limits.js';
import { WorkFolder, type Kind } from './work-folder.js';

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

function checkFolder(path: string): void {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new GeosegError(`${path}: output folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new GeosegError(`${path}: output folder ${folder} is not writable`);
  }
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
  // Chunks are written while the next rows are read asynchronously, on purpose (a short wait on
  // GDAL's lock, not a bug): keep gdal-async from warning on every block.
  (gdal as unknown as { eventLoopWarning: boolean }).eventLoopWarning = false;
  const S = opts.window ?? 512;
  const overlap = opts.overlap ?? 0.25;
  const batch = opts.batch ?? 4;
  const blend = opts.blend ?? 'hann';
  const tta = opts.tta ?? 'none';
  checkWindowOptions(S, overlap, batch);
  ttaTransforms(tta); // validates
  const output = resolve(opts.output);
  const confidence = opts.confidence ? resolve(opts.confidence) : null;
  const probabilities = opts.probabilities ? resolve(opts.probabilities) : null;
  const vector = opts.vector ? resolve(opts.vector) : null;
  const mapFile = opts.map ? join(dirname(output), 'map.json') : null;
  const finals = [output, confidence, probabilities, vector, mapFile].filter((p): p is string => !!p);
  for (const p of finals) checkFolder(p);
  const workDir = join(dirname(output), `.${basename(output)}.geoseg-partial`);
  // Outputs an interrupted run of ours was renaming into place are ours to replace; others only with --overwrite.
  const ours = opts.resume ? WorkFolder.publishing(workDir) : [];
  for (const p of finals) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) throw new GeosegError(`${p}: is a folder (geoseg never replaces a folder with a file; choose another output)`);
    if (!opts.overwrite && !ours.includes(p)) throw new GeosegError(`${p}: exists (use --overwrite to replace it)`);
  }

  const { model, meta, dir } = loadCheckpoint(opts.checkpoint);
  if (opts.device && opts.device !== 'cpu') model.to(opts.device as torch.Device);
  model.eval();
  useChannelsLast(model);
  const raster = await Raster.open(opts.input);
  const info = raster.info;
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
    const nodata = info.nodata[0];
    const hasNodata = nodata !== null && !Number.isNaN(nodata) && info.nodata.every((v) => v === nodata);
    // Float rasters may hold NaN, which is nodata whether declared or not.
    const floatInput = info.dataTypes.some((t) => t.startsWith('Float'));
    const marksNodata = hasNodata || floatInput;
    // Channels: the weighted class sums, plus (when the input can have nodata) one counting
    // windows that saw the pixel as nodata.
    const channels = K + (marksNodata ? 1 : 0);
    const kinds: Kind[] = ['classes', ...(confidence ? ['confidence' as const] : []), ...(probabilities ? ['probabilities' as const] : [])];
    checkPlan({ width: W, height: H, window: S, overlap, xs, ys, batch, bands: info.bandCount, channels, outputBytes: 1 + (confidence ? 1 : 0) + (probabilities ? K : 0) });

    const key = JSON.stringify({ input: resolve(opts.input), checkpoint: dir, step: meta.step, S, overlap, blend, tta, kinds, grid: 'even' });
    const work = WorkFolder.open(workDir, key, kinds, { resume: opts.resume ?? false, output });

    // Separable blending: window weight w(y)·w(x), so a pixel's total weight is Ty(y)·Tx(x).
    const profile = blendProfile(S, blend).keep();
    const weight2d = profile.unsqueeze(1).mul(profile.unsqueeze(0)).keep();
    const rowTotal = axisTotal(ys, Math.max(H, S), profile).keep();
    const colTotal = axisTotal(xs, Wacc, profile).keep();

    // Batches in reading order: window row r, windows xs[i .. i + batch).
    const groupStarts: number[] = [];
    for (let i = 0; i < xs.length; i += batch) groupStarts.push(i);
    const groupSpan = (i: number) => xs[Math.min(i + batch, xs.length) - 1] + S - xs[i];
    // Rows [ys[r], nextRow(r)) are complete once window row r is done.
    const nextRow = (r: number) => (r + 1 < ys.length ? ys[r + 1] : Math.min(H, ys[r] + S));
    // `block`: the sums of the window row being predicted, over the columns of one batch; the
    // columns no later batch of the row reaches are finished (rows the next window row does not
    // reach) or moved to `carry` (rows it does), the others stay for the next batch.
    const block = torch.zeros([channels, S, Math.max(...groupStarts.map(groupSpan))]).keep();
    const carryRows = Math.max(1, ...ys.slice(1).map((y1, r) => ys[r] + S - y1));
    const carry = torch.zeros([channels, carryRows, Wacc]).keep();
    // `rows`: the finished rows of the window row as uint8, all columns, until written as a chunk.
    const bandRows = Math.max(...ys.map((y, r) => nextRow(r) - y));
    const rows = {
      classes: torch.zeros([bandRows, W], { dtype: 'uint8' }).keep(),
      confidence: confidence ? torch.zeros([bandRows, W], { dtype: 'uint8' }).keep() : null,
      probabilities: probabilities ? torch.zeros([K, bandRows, W], { dtype: 'uint8' }).keep() : null,
    };
    const windowsTotal = ys.length * xs.length;
    const progress = new Progress('predict', windowsTotal, 'windows', opts.progress ?? false);
    // Redo every window row that reaches below the written rows: their carry was in memory.
    const flushedBefore = work.flushedTo;
    const resumed = flushedBefore > 0;
    const firstRow = flushedBefore >= H ? ys.length : resumed ? ys.findIndex((y0) => y0 + S > flushedBefore) : 0;
    const doneBefore = resumed ? ys.filter((_, r) => nextRow(r) <= flushedBefore).length : 0;
    progress.set(doneBefore * xs.length);
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

    /** Finishes block rows [r0, r0 + h) of the block's first `w` columns (scene column a) into `rows`. */
    const finishBlock = (y: number, a: number, r0: number, h: number, w: number) => torch.tidy(() => {
      const sums = block.narrow(1, r0, h).narrow(2, 0, w);
      const scores = sums.narrow(0, 0, K);
      // The class is the argmax of the weighted sums (every class shares a pixel's total weight).
      const [best, cls] = scores.max(0);
      const total = rowTotal.narrow(0, y + r0, h).view([-1, 1]).mul(colTotal.narrow(0, a, w).view([1, -1]));
      const classes = cls.to('uint8');
      const bad = marksNodata ? sums.select(0, K).gt(0) : undefined;
      if (bad) classes.maskedFill_(bad, NODATA_CLASS);
      rows.classes.narrow(0, 0, h).narrow(1, a, w).copy_(classes);
      (torch.bincount(classes.reshape([-1]).to('int64'), null, 256).narrow(0, 0, K).data() as BigInt64Array).forEach((n, k) => { classCounts[k] += Number(n); });
      if (rows.confidence) rows.confidence.narrow(0, 0, h).narrow(1, a, w).copy_(maskedOrSame(best.div_(total).mul_(255).round_().to('uint8'), bad, 0));
      if (rows.probabilities) rows.probabilities.narrow(1, 0, h).narrow(2, a, w).copy_(scores.div(total.unsqueeze(0)).mul_(255).round_().to('uint8'));
    });

    /** Scene rows [y0, y1), finished in `rows`, as a durable chunk. */
    const writeChunk = async (y0: number, y1: number) => {
      const h = y1 - y0;
      const planes = torch.tidy(() => ({
        classes: [rows.classes.narrow(0, 0, h).contiguous()],
        confidence: rows.confidence ? [rows.confidence.narrow(0, 0, h).contiguous()] : undefined,
        probabilities: rows.probabilities ? Array.from({ length: K }, (_, k) => rows.probabilities!.select(0, k).narrow(0, 0, h).contiguous()) : undefined,
      }));
      try {
        const bytes = (ts?: Tensor[]) => ts?.map((t) => t.data() as Uint8Array);
        await work.addChunk(y0, y1, W, { classes: bytes(planes.classes), confidence: bytes(planes.confidence), probabilities: bytes(planes.probabilities) });
      } finally {
        torch.dispose(planes);
      }
    };

    try {
      for (let r = firstRow; r < ys.length; r++) {
        const y = ys[r];
        // Rows [y, y + top) hold sums from the row above; rows [y, next) are complete after this
        // row, rows [next, y + S) go on to the next one.
        const top = r > firstRow ? ys[r - 1] + S - y : 0;
        const next = nextRow(r);
        const bottom = r + 1 < ys.length ? y + S - next : 0;
        const skip = Math.max(0, flushedBefore - y); // already in chunks before an interruption
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
              // Nodata pixels enter the model as the mean, not as their raw fill value; NaN and
              // infinities in any band make a pixel nodata.
              let nodataMask = hasNodata ? raw.eq(nodata!).all(1) : null;
              if (floatInput) {
                const nonFinite = raw.isfinite().logicalNot().any(1);
                nodataMask = nodataMask ? nodataMask.logicalOr(nonFinite) : nonFinite;
              }
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
          if (next - y > skip) finishBlock(y, a, skip, next - y - skip, done);
          kept = span - done;
          torch.tidy(() => {
            if (bottom > 0) carry.narrow(1, 0, bottom).narrow(2, a, done).copy_(block.narrow(1, next - y, bottom).narrow(2, 0, done));
            // The columns the next batch shares move to the block's start (through a clone: the regions may overlap).
            if (kept > 0) block.narrow(2, 0, kept).copy_(block.narrow(2, done, kept).clone());
          });
        }
        if (next - y > skip) await writeChunk(y + skip, next);
        if (r >= doneBefore) progress.tick(xs.length, `${(((r + 1 - firstRow) * xs.length * S * S) / 1e6 / ((performance.now() - started) / 1000)).toFixed(1)} Mpx/s (windows)`);
        if (opts.shouldStop?.() && r + 1 < ys.length) {
          stopped = true;
          break;
        }
      }
    } finally {
      await pending.then((imgs) => torch.dispose(imgs), () => undefined);
      torch.dispose([block, carry, rowTotal, colTotal, profile, weight2d, ...Object.values(rows).filter((t): t is Tensor => t !== null)]);
    }
    const summaryBase = { width: W, height: H, windows: windowsTotal, resumedFromRow: firstRow };
    if (stopped) {
      return { output, confidence: null, probabilities: null, vector: null, map: null, ...summaryBase, seconds: (performance.now() - started) / 1000, megapixelsPerSecond: 0, peakRssMB: peakRss(), stopped, classes: [] };
    }

    // The finished rasters: mosaics of the chunks. Post-processing needs a raster it can change.
    const georef = { geoTransform: info.geoTransform, crs: info.crs };
    let classesSrc = work.writeMosaic('classes', W, H, 1, georef);
    const postNodata = marksNodata ? NODATA_CLASS : null;
    const post = opts.post && Object.values(opts.post).some((v) => v) ? opts.post : null;
    if (post) {
      const tif = work.path('classes.tif');
      await withDataset(classesSrc, async (ds) => (await gdal.drivers.get('GTiff').createCopyAsync(tif, ds, { TILED: 'YES', COMPRESS: 'DEFLATE', BIGTIFF: 'IF_SAFER' })).close());
      classesSrc = tif;
      await postprocess(classesSrc, K, postNodata, post);
    }
    // Resumed runs count only the rows they predicted, post-processing changes classes: recount.
    if (resumed || post) classCounts.set(await withDataset(classesSrc, (ds) => countRaster(ds, K)));

    // Every output is made in the work folder, then renamed into place.
    const staged = new Map<string, string>();
    const classMeta = { [CLASSES_METADATA_KEY]: JSON.stringify(meta.classes.map((c) => ({ id: c.id, name: c.name, color: c.color }))) };
    const palette = meta.classes.map((c) => c.color);
    staged.set(output, await toCog(classesSrc, work.path('final.classes.tif'), output, { palette, nodata: postNodata, metadata: classMeta }));
    if (confidence) staged.set(confidence, await toCog(work.writeMosaic('confidence', W, H, 1, georef), work.path('final.confidence.tif'), confidence, { nodata: marksNodata ? 0 : null }));
    if (probabilities) staged.set(probabilities, await toCog(work.writeMosaic('probabilities', W, H, K, georef), work.path('final.probabilities.tif'), probabilities, {}));
    if (vector) {
      const v = work.path(`final.vector${extname(vector)}`);
      await vectorize(staged.get(output)!, v, meta.classes, { simplify: opts.simplify ?? 0, nodata: postNodata, overwrite: true });
      fsyncPath(v);
      staged.set(vector, v);
    }
    if (mapFile) {
      const rel = (p: string) => relative(dirname(output), p).split(sep).join('/');
      writeMapManifest(work.dir, {
        title: basename(output), classes: meta.classes.map((c) => ({ id: c.id, name: c.name, color: c.color })), ignoreIndex: NODATA_CLASS,
        layers: { image: rel(resolve(opts.input)), prediction: rel(output), truth: null, confidence: confidence ? rel(confidence) : null },
      });
      fsyncPath(work.path('map.json'));
      staged.set(mapFile, work.path('map.json'));
    }
    work.markPublishing([...staged.keys()]);
    for (const [final, file] of staged) renameDurable(file, final);
    work.remove();
    const seconds = (performance.now() - started) / 1000;
    const pixelArea = info.geoTransform ? Math.abs(info.geoTransform[1] * info.geoTransform[5] - info.geoTransform[2] * info.geoTransform[4]) : null;
    return {
      output, confidence, probabilities, vector, map: mapFile, ...summaryBase, seconds, megapixelsPerSecond: (W * H) / 1e6 / seconds, peakRssMB: peakRss(), stopped,
      classes: meta.classes.map((c, k) => ({ id: c.id, name: c.name, pixels: classCounts[k], area: pixelArea === null ? null : classCounts[k] * pixelArea })),
    };
  } finally {
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

/**
 * A finished raster (the chunks' mosaic or a post-processed GeoTIFF) → a COG at `path` in the work
 * folder (to become `final`), fsync'd, with palette / nodata / metadata when given. Returns `path`.
 */
async function toCog(src: string, path: string, final: string, { palette, nodata, metadata }: { palette?: [number, number, number][]; nodata?: number | null; metadata?: Record<string, string> }): Promise<string> {
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
    try {
      const out = await gdal.drivers.get('COG').createCopyAsync(path, ds, { COMPRESS: 'DEFLATE', BLOCKSIZE: '512', OVERVIEW_RESAMPLING: palette ? 'MODE' : 'AVERAGE', BIGTIFF: 'IF_SAFER' });
      out.close();
      fsyncPath(path);
    } catch (e) {
      throw new GeosegError(`${final}: cannot write (${(e as Error).message})`);
    }
  } finally {
    ds.close();
  }
  return path;
}

export type { SegmentationModel };
