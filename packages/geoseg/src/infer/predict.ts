// geoseg predict as a library call: a scene of any size, streamed window row by window row
// through the blender (stream-blend.ts, on the shared window grid of window-grid.ts).
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
import { existsSync, readdirSync, statSync, accessSync, constants } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { Progress } from '../progress.js';
import { Raster, type Window } from '../raster/index.js';
import { loadCheckpoint, type CheckpointMeta, type WeightsChoice } from '../models/checkpoint.js';
import { useChannelsLast, type SegmentationModel } from '../models/index.js';
import { readModelCard, ScriptedModel } from '../models/scripted.js';
import type { WindowModel } from '../models/window-model.js';
import type { BlendMode } from './blend.js';
import { postprocess, type PostprocessOptions } from './postprocess.js';
import { ttaTransforms } from './tta.js';
import { vectorize } from './vectorize.js';
import { CLASSES_METADATA_KEY } from '../raster/write.js';
import { isMapManifest, MAP_MANIFEST_FILE, writeMapManifest } from '../map-manifest.js';
import { fsyncPath, renameDurable, sha256File } from '../durable.js';
import { existsMessage } from '../outputs.js';
import { acquireLock, lockAlive, readLock, releaseLock, type LockUse } from '../lock-file.js';
import { checkPlan, checkWindowOptions } from './limits.js';
import { partDir, WorkFolder, type Kind } from './work-folder.js';
import { blendRows, NODATA_CLASS, type RowBand } from './stream-blend.js';
import type { CrfOptions } from './crf/dense-crf.js';
import { PRECISIONS, type Precision } from './window-predict.js';
import { firstRowAfter, partOf, rowEnd, windowGrid } from './window-grid.js';
import { addClassCounts, countRaster, toCog, withDataset } from './final-rasters.js';
import { peakRss } from '../streaming-process.js';
import { createHash } from 'node:crypto';
import { applyMatching, histogramDomain, matchingTable, nodataPixels, rasterHistograms, referenceHistograms } from '../data/histogram-match.js';

export interface PredictOptions {
  /** A geoseg checkpoint (a run or checkpoint folder); or, instead, `model`. */
  checkpoint?: string;
  /** A TorchScript model exported from Python, with its model card `<model>.json` (models/scripted.ts). */
  model?: string;
  /** The checkpoint's raw weights (default) or their moving average (runs with train.ema). */
  weights?: WeightsChoice;
  /** The model already loaded (loadPredictor) by a caller predicting many scenes; it stays the caller's. */
  predictor?: Predictor;
  input: string;
  output: string;
  window?: number;
  overlap?: number;
  batch?: number;
  blend?: BlendMode;
  tta?: string | string[];
  /** fp32 (default) or bf16: the model under CPU bfloat16 autocast (window-predict.ts). */
  precision?: Precision;
  /**
   * Histogram-match the scene's bands to this reference (a prepared dataset's recorded
   * histograms, or a raster) before the model sees them (data/histogram-match.ts; 8-bit imagery).
   */
  matchHistograms?: string | null;
  /** Dense CRF of each window's probabilities over its image before blending (infer/crf/); null: none. */
  crf?: CrfOptions | null;
  /** Also write the winning probability (uint8, 0–255) here. */
  confidence?: string | null;
  /** Also write every class's probability (uint8 bands, 0–255) here. */
  probabilities?: string | null;
  post?: PostprocessOptions;
  /**
   * Also write map.json in the output's folder (image = the input, prediction, confidence), so
   * `geoseg serve` lists the result as a map; a path: that manifest (e.g. <stem>.map.json).
   */
  map?: boolean | string;
  /** Polygons of each class (.geojson or .gpkg). */
  vector?: string | null;
  simplify?: number;
  overwrite?: boolean;
  resume?: boolean;
  progress?: boolean;
  device?: string;
  /** Checked after every window row; true stops (the work folder is kept for --resume). */
  shouldStop?: () => boolean;
  /**
   * Predict only part `index` of `count` of the scene's window rows, into its part folder (a large
   * scene shared among workers: the scene's work folder was set up with WorkFolder.prepareParts);
   * nothing is written where the outputs go until a call with `assembleParts`.
   */
  part?: { index: number; count: number };
  /** Make the outputs from the scene's `assembleParts` finished parts, predicting nothing. */
  assembleParts?: number;
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
  /** The part predicted (with `part`: no outputs are written yet). */
  part?: { index: number; count: number; rows: [number, number] };
  /** Per class: pixels and area in CRS units² (null without a geotransform). */
  classes: { id: number; name: string; pixels: number; area: number | null }[];
}

const SUPPORTED_TYPES = new Set(['Byte', 'Int8', 'UInt16', 'Int16', 'UInt32', 'Int32', 'Float32', 'Float64']);

function checkFolder(path: string): void {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new GeosegError(`${path}: output folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new GeosegError(`${path}: output folder ${folder} is not writable`);
  }
}

/** A band's finished rows as chunk bytes: classes, confidence, every class's probability plane. */
function chunkPlanes(band: RowBand): Partial<Record<Kind, Tensor[]>> {
  return torch.tidy(() => ({
    classes: [band.classes.contiguous()],
    confidence: band.confidence ? [band.confidence.contiguous()] : undefined,
    probabilities: band.probabilities ? Array.from({ length: band.probabilities.shape[0] }, (_, k) => band.probabilities!.select(0, k).contiguous()) : undefined,
  }));
}

export const DEFAULT_WINDOW = 512;
export const DEFAULT_OVERLAP = 0.25;

/** The lock of a scene's output (one predict of the whole scene, or the assembly of its parts), and of one of its parts. */
export const sceneLock = (output: string) => join(dirname(output), `.${basename(output)}.geoseg-lock`);
const partLock = (output: string, index: number) => `${sceneLock(output)}.part-${index}`;

/** Refuses while a live process holds `lock` (without taking it). */
export function refuseWhileLocked(lock: string, use: LockUse): void {
  const held = readLock(lock);
  if (held === undefined) return;
  if (lockAlive(held) !== false) throw new GeosegError(`${use.target}: another ${use.holder} (pid ${(held as { pid?: number } | null)?.pid}) ${use.doing}; wait for it or stop it (a stale lock from another host: delete ${lock})`);
}

/** Refuses while another process predicts a part of `output` (stale part locks are cleared). */
export function refuseWhilePartsRun(output: string, use: LockUse): void {
  const prefix = `${basename(sceneLock(output))}.part-`;
  for (const f of readdirSync(dirname(output)).filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))) {
    const lock = join(dirname(output), f);
    acquireLock(lock, use);
    releaseLock(lock);
  }
}

/** What predict runs: a checkpoint's model and meta, or a TorchScript model and its card. */
/** A model ready for predict: its window model, what predict needs of its metadata, and its path. */
export interface Predictor {
  model: WindowModel;
  meta: Pick<CheckpointMeta, 'bands' | 'classes' | 'normalization'> & { step: number | string };
  dir: string;
}

/** Load the checkpoint or TorchScript model `opts` names (the caller disposes `model`). */
export function loadPredictor(opts: Pick<PredictOptions, 'model' | 'checkpoint' | 'device'>, weights: WeightsChoice): Predictor {
  if (opts.model !== undefined && opts.checkpoint !== undefined) throw new GeosegError('predict: give a checkpoint or a TorchScript model, not both');
  if (opts.model !== undefined) {
    if (weights !== 'raw') throw new GeosegError(`predict: weights ${weights}: a TorchScript model has its own weights only`);
    const card = readModelCard(opts.model);
    const model = new ScriptedModel(opts.model, card.classes.length, opts.device);
    const classes = card.classes.map((name, id) => ({ id, name, color: card.colors?.[id] ?? defaultColor(id) }));
    // the hashes of the model file and its card stand in for a checkpoint's step in the resume key
    const step = `${sha256File(opts.model)}:${sha256File(`${opts.model}.json`)}`;
    return { model, meta: { bands: card.bands, classes, normalization: { ...card.normalization, scale: card.normalization.mean.map(() => 1) }, step }, dir: resolve(opts.model) };
  }
  if (opts.checkpoint === undefined) throw new GeosegError('predict: a checkpoint or a TorchScript model is required');
  const { model, meta, dir } = loadCheckpoint(opts.checkpoint, { weights });
  if (opts.device && opts.device !== 'cpu') model.to(opts.device as torch.Device);
  model.eval();
  useChannelsLast(model);
  return { model, meta, dir };
}

/** A distinct colour for class `id` when a model card gives none (golden-angle hues). */
function defaultColor(id: number): [number, number, number] {
  const h = (id * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (0.5 - 0.4 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export async function predict(opts: PredictOptions): Promise<PredictSummary> {
  const started = performance.now();
  const S = opts.window ?? DEFAULT_WINDOW;
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  const batch = opts.batch ?? 4;
  const blend = opts.blend ?? 'hann';
  const tta = opts.tta ?? 'none';
  const precision = opts.precision ?? 'fp32';
  if (!PRECISIONS.includes(precision)) throw new GeosegError(`precision: ${precision}: expected ${PRECISIONS.join(' or ')}`);
  checkWindowOptions(S, overlap, batch);
  ttaTransforms(tta); // validates
  const output = resolve(opts.output);
  const confidence = opts.confidence ? resolve(opts.confidence) : null;
  const probabilities = opts.probabilities ? resolve(opts.probabilities) : null;
  const vector = opts.vector ? resolve(opts.vector) : null;
  const mapFile = typeof opts.map === 'string' ? resolve(opts.map) : opts.map ? join(dirname(output), MAP_MANIFEST_FILE) : null;
  if (mapFile && !isMapManifest(basename(mapFile))) throw new GeosegError(`${mapFile}: a map manifest is named map.json or <name>.map.json`);
  if (mapFile && dirname(mapFile) !== dirname(output)) throw new GeosegError(`${mapFile}: a map manifest goes beside its prediction (${dirname(output)})`);
  const finals = [output, confidence, probabilities, vector, mapFile].filter((p): p is string => !!p);
  for (const p of finals) checkFolder(p);
  const workDir = join(dirname(output), `.${basename(output)}.geoseg-partial`);
  // Outputs an interrupted run of ours was renaming into place are ours to replace; others only with --overwrite.
  const ours = opts.resume ? WorkFolder.publishing(workDir) : [];
  for (const p of finals) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) throw new GeosegError(`${p}: is a folder (geoseg never replaces a folder with a file; choose another output)`);
    if (!opts.overwrite && !ours.includes(p)) throw new GeosegError(existsMessage(p));
  }

  const weights = opts.weights ?? 'raw';
  // a caller predicting many scenes loads the model once (opts.predictor) and disposes it itself
  const { model, meta, dir } = opts.predictor ?? loadPredictor(opts, weights);
  const raster = await Raster.open(opts.input);
  const info = raster.info;
  let lookupHeld: Tensor | null = null;
  let lockHeld: string | null = null;
  try {
    if (info.bandCount !== meta.bands) throw new GeosegError(`${opts.input}: has ${info.bandCount} bands, the model ${dir} takes ${meta.bands}`);
    const badType = info.dataTypes.find((t) => !SUPPORTED_TYPES.has(t));
    if (badType) throw new GeosegError(`${opts.input}: band data type ${badType} cannot be fed to the model (real-valued bands only)`);
    const { width: W, height: H } = info;
    const K = meta.classes.length;
    const grid = windowGrid(W, H, S, overlap);
    const { xs, ys } = grid;
    const declared = info.nodata[0];
    const hasNodata = declared !== null && !Number.isNaN(declared) && info.nodata.every((v) => v === declared);
    // Float rasters may hold NaN, which is nodata whether declared or not.
    const nodata = { value: hasNodata ? declared : null, nonFinite: info.dataTypes.some((t) => t.startsWith('Float')) };
    const marksNodata = hasNodata || nodata.nonFinite;
    const kinds: Kind[] = ['classes', ...(confidence ? ['confidence' as const] : []), ...(probabilities ? ['probabilities' as const] : [])];
    checkPlan({ width: W, height: H, window: S, overlap, xs, ys, batch, bands: info.bandCount, channels: K + (marksNodata ? 1 : 0), outputBytes: 1 + (confidence ? 1 : 0) + (probabilities ? K : 0) });

    // (a resume must not mix precisions; an fp32 run's key is the one earlier versions wrote)
    // the scene's matching table (a full pass over the scene for its histograms)
    const lookup = opts.matchHistograms ? await sceneMatchingTable(opts.input, info.dataTypes, opts.matchHistograms) : null;
    lookupHeld = lookup?.table ?? null;
    const matching = lookup ? { matchHistograms: { reference: resolve(opts.matchHistograms!), table: createHash('sha256').update(lookup.table.data() as Uint8Array).digest('hex') } } : {};
    const key = JSON.stringify({ input: resolve(opts.input), checkpoint: dir, ...(weights === 'ema' ? { weights } : {}), step: meta.step, S, overlap, blend, tta, kinds, grid: 'even', ...(precision !== 'fp32' ? { precision } : {}), ...(opts.crf ? { crf: opts.crf } : {}), ...matching });
    // One predict per output from here on, where the first thing is written: a second one would
    // share the work folder (or remove it under the first). The refusals above touch nothing.
    // The parts of a scene are predicted side by side, each under a lock of its own; the scene's
    // lock (a whole-scene predict, the assembly of the parts) and theirs exclude each other.
    if (opts.part && opts.assembleParts) throw new Error('predict: part and assembleParts are exclusive');
    const part = opts.part ? { ...opts.part, ...partOf(grid, opts.part.index, opts.part.count) } : null;
    const lockUse = { holder: 'geoseg predict', doing: 'is writing this output', what: 'this output', target: output };
    if (part) {
      refuseWhileLocked(sceneLock(output), lockUse);
      lockHeld = partLock(output, part.index);
      acquireLock(lockHeld, lockUse);
    } else {
      lockHeld = sceneLock(output);
      acquireLock(lockHeld, lockUse);
      refuseWhilePartsRun(output, lockUse);
    }
    // (an output another predict finished meanwhile is refused as any existing one)
    for (const p of finals) if (existsSync(p) && !opts.overwrite && !ours.includes(p)) throw new GeosegError(existsMessage(p));
    const georef = { geoTransform: info.geoTransform, crs: info.crs };
    const summaryBase = { width: W, height: H, windows: ys.length * xs.length };
    let work: WorkFolder;
    let mosaic: (kind: Kind, bands: number) => string;
    const classCounts = new Float64Array(K);
    let recount: boolean;
    let firstRow = 0;
    if (opts.assembleParts) {
      const n = opts.assembleParts;
      const parts = Array.from({ length: n }, (_, i) => partOf(grid, i, n));
      const opened = WorkFolder.openParts(workDir, key, kinds, output, parts.map((p) => p.y0));
      opened.parts.forEach((p, i) => {
        if (p.flushedTo !== parts[i].y1) throw new GeosegError(`${output}: part ${i + 1} of ${n} is not finished (rows ${p.flushedTo}..${parts[i].y1} missing); run again with --resume`);
      });
      work = opened.scene;
      mosaic = (kind, bands) => opened.scene.writePartsMosaic(opened.parts, kind, W, H, bands, georef);
      recount = true;
    } else {
      const inParts = WorkFolder.partCount(workDir);
      if (part && inParts !== part.count) throw new Error(`predict: ${workDir} is not set up for ${part.count} parts`);
      if (!part && opts.resume && inParts !== null) {
        throw new GeosegError(`${output}: was being predicted in ${inParts} parts by several workers; continue it with geoseg predict --output-dir … --resume (or run without --resume to start over)`);
      }
      const rowsWork = WorkFolder.open(part ? partDir(workDir, part.index) : workDir, key, kinds, { resume: opts.resume ?? false, output, start: part?.y0 ?? 0 });
      const predicted = await predictRows(rowsWork, part);
      firstRow = predicted.firstRow;
      if (predicted.stopped || part) {
        return {
          output, confidence: null, probabilities: null, vector: null, map: null, ...summaryBase, resumedFromRow: firstRow,
          seconds: (performance.now() - started) / 1000, megapixelsPerSecond: 0, peakRssMB: peakRss(), stopped: predicted.stopped, classes: [],
          ...(part ? { part: { index: part.index, count: part.count, rows: [part.y0, part.y1] as [number, number] } } : {}),
        };
      }
      work = rowsWork;
      mosaic = (kind, bands) => rowsWork.writeMosaic(kind, W, H, bands, georef);
      // Resumed runs count only the rows they predicted: recount.
      recount = predicted.resumed;
    }

    /** Window rows [firstRow, r1) of the scene (or of the part) into `rowsWork`, continuing what it holds. */
    async function predictRows(rowsWork: WorkFolder, part: { r0: number; r1: number; y0: number; y1: number } | null): Promise<{ stopped: boolean; resumed: boolean; firstRow: number }> {
      const endRow = part?.r1 ?? ys.length;
      const rowsBefore = part?.r0 ?? 0;
      const progress = new Progress('predict', (endRow - rowsBefore) * xs.length, 'windows', opts.progress ?? false);
      // A resume redoes every window row that reaches below the written rows (their carry was in memory).
      const flushedBefore = rowsWork.flushedTo;
      const resumed = flushedBefore > (part?.y0 ?? 0);
      // (a finished part: the window row that reaches past its end need not run again)
      if (part && flushedBefore >= part.y1) return { stopped: false, resumed, firstRow: endRow };
      const firstRow = firstRowAfter(grid, flushedBefore);
      progress.set(ys.filter((_, r) => r >= rowsBefore && rowEnd(grid, r) <= flushedBefore).length * xs.length);
      let stopped = false;
      const rows = blendRows(model, {
        grid, classes: K, norm: meta.normalization, nodata, window: S, overlap, batch, blend, tta, precision, crf: opts.crf ?? null,
        confidence: !!confidence, probabilities: !!probabilities, done: flushedBefore, until: endRow,
        read: async (x, y, w, h) => {
          const raw = await raster.read({ x, y, width: w, height: h } as Window);
          if (!lookup) return raw;
          const matched = applyMatching(raw, lookup.table, nodataPixels(raw, nodata.value), lookup.lo);
          raw.dispose();
          return matched;
        },
      });
      for await (const band of rows) {
        addClassCounts(classCounts, band.classes);
        const planes = chunkPlanes(band);
        try {
          const bytes = (ts?: Tensor[]) => ts?.map((t) => t.data() as Uint8Array);
          await rowsWork.addChunk(band.y0, band.y1, W, { classes: bytes(planes.classes), confidence: bytes(planes.confidence), probabilities: bytes(planes.probabilities) });
        } finally {
          torch.dispose(planes);
        }
        const r = band.row;
        progress.tick(xs.length, `${(((r + 1 - firstRow) * xs.length * S * S) / 1e6 / ((performance.now() - started) / 1000)).toFixed(1)} Mpx/s (windows)`);
        if (opts.shouldStop?.() && r + 1 < endRow) {
          stopped = true;
          break;
        }
      }
      // The windows' activations are cached by the CPU allocator for the next batch; GDAL's mosaic,
      // COG and polygon passes come next and need that memory themselves (16384² bf16: peak RSS 949
      // MB with the blocks kept, 659 MB without)
      torch.emptyCpuCache();
      torch.mallocTrim();
      return { stopped, resumed, firstRow };
    }

    // The finished rasters: mosaics of the chunks. Post-processing needs a raster it can change.
    let classesSrc = mosaic('classes', 1);
    const postNodata = marksNodata ? NODATA_CLASS : null;
    const post = opts.post && Object.values(opts.post).some((v) => v) ? opts.post : null;
    if (post) {
      const tif = work.path('classes.tif');
      await withDataset(classesSrc, async (ds) => (await gdal.drivers.get('GTiff').createCopyAsync(tif, ds, { TILED: 'YES', COMPRESS: 'DEFLATE', BIGTIFF: 'IF_SAFER' })).close());
      classesSrc = tif;
      await postprocess(classesSrc, K, postNodata, post);
    }
    // Post-processing changes classes: recount.
    if (recount || post) classCounts.set(await withDataset(classesSrc, (ds) => countRaster(ds, K)));

    // Every output is made in the work folder, then renamed into place.
    const staged = new Map<string, string>();
    const classMeta = { [CLASSES_METADATA_KEY]: JSON.stringify(meta.classes.map((c) => ({ id: c.id, name: c.name, color: c.color }))) };
    const palette = meta.classes.map((c) => c.color);
    staged.set(output, await toCog(classesSrc, work.path('final.classes.tif'), output, { palette, nodata: postNodata, metadata: classMeta }));
    if (confidence) staged.set(confidence, await toCog(mosaic('confidence', 1), work.path('final.confidence.tif'), confidence, { nodata: marksNodata ? 0 : null }));
    if (probabilities) staged.set(probabilities, await toCog(mosaic('probabilities', K), work.path('final.probabilities.tif'), probabilities, {}));
    if (vector) {
      const v = work.path(`final.vector${extname(vector)}`);
      await vectorize(staged.get(output)!, v, meta.classes, { simplify: opts.simplify ?? 0, nodata: postNodata, overwrite: true });
      fsyncPath(v);
      staged.set(vector, v);
    }
    if (mapFile) {
      const rel = (p: string) => relative(dirname(output), p).split(sep).join('/');
      const manifest = writeMapManifest(work.dir, {
        title: basename(output), classes: meta.classes.map((c) => ({ id: c.id, name: c.name, color: c.color })), ignoreIndex: NODATA_CLASS,
        layers: { image: rel(resolve(opts.input)), prediction: rel(output), truth: null, confidence: confidence ? rel(confidence) : null },
      });
      staged.set(mapFile, manifest);
    }
    work.markPublishing([...staged.keys()]);
    for (const [final, file] of staged) renameDurable(file, final);
    work.remove();
    const seconds = (performance.now() - started) / 1000;
    const pixelArea = info.geoTransform ? Math.abs(info.geoTransform[1] * info.geoTransform[5] - info.geoTransform[2] * info.geoTransform[4]) : null;
    return {
      output, confidence, probabilities, vector, map: mapFile, ...summaryBase, resumedFromRow: firstRow, seconds, megapixelsPerSecond: (W * H) / 1e6 / seconds, peakRssMB: peakRss(), stopped: false,
      classes: meta.classes.map((c, k) => ({ id: c.id, name: c.name, pixels: classCounts[k], area: pixelArea === null ? null : classCounts[k] * pixelArea })),
    };
  } finally {
    if (lockHeld) releaseLock(lockHeld);
    raster.close();
    if (!opts.predictor) model.dispose();
    lookupHeld?.dispose();
  }
}

/** The table taking the scene's byte values to `reference`'s distribution (kept: the caller disposes it). */
async function sceneMatchingTable(input: string, dataTypes: string[], reference: string): Promise<{ table: Tensor; lo: number }> {
  const { lo } = histogramDomain(input, dataTypes);
  const target = await referenceHistograms(resolve(reference));
  return { table: matchingTable(await rasterHistograms(input), target).keep(), lo };
}

export type { SegmentationModel };
export { windowStarts } from './window-grid.js';
