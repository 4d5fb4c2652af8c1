// geoseg prepare: scenes + labels → a prepared dataset folder (tiles, per-scene and per-tile
// class counts, normalization statistics). Written to a temporary folder that replaces the
// output only when everything succeeded, so a failure never leaves a half-written dataset; an
// existing output is replaced only with `overwrite`, and only if it is a dataset (dataset.json).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { checkOutputFolder, swapInFolder, tempSibling } from '../outputs.js';
import { Progress } from '../progress.js';
import { Raster, pixelSize, type Window } from '../raster/index.js';
import { readClassTable, type ClassTable } from './classes.js';
import type { DatasetJson, SceneRecord, TileRecord } from './dataset.js';
import { countClasses, decodeMask, type UnknownPolicy } from './masks.js';
import { pairScenes } from './pairing.js';
import { sceneSource, type VectorLabelOptions } from './scene-source.js';
import { planTiles } from './tiling.js';
import { estimateAlignment, type Alignment } from './label-alignment.js';
import { applyMatching, histogramDomain, matchableTypes, matchingTable, nodataPixels, rasterHistograms, referenceHistograms, trimHistograms, type BandHistograms } from './histogram-match.js';

/** `total` plus a scene's histograms [bands][size], through the matching table when there is one (kept; `total` is disposed). */
function addSceneHistograms(total: Tensor | null, scene: BandHistograms, table: Tensor | null): Tensor {
  return torch.tidy(() => {
    let h = torch.tensor(scene.counts, { dtype: 'float64' });
    // value v's pixels land on table[v] (tables hold values from scene.lo, as the histograms)
    if (table) h = torch.zerosLike(h).scatterAdd_(1, table.to('int64').sub(scene.lo), h);
    const sum = total ? total.add(h) : h;
    total?.dispose();
    return sum.keep();
  });
}

export interface PrepareOptions {
  images: string;
  labels: string;
  classes: string;
  out: string;
  tile?: number;
  overlap?: number;
  unknown?: UnknownPolicy;
  /** Resample every scene to this ground sampling distance (CRS units per pixel). */
  gsd?: number;
  /** How to read vector label files (required when labels are GeoJSON/GeoPackage/Shapefile). */
  vector?: VectorLabelOptions;
  /**
   * Histogram-match every scene, band by band, to this reference before tiling: a raster (a
   * scene of the sensor to imitate) or a prepared dataset folder (its recorded histograms).
   * 8-bit imagery only.
   */
  matchHistograms?: string | null;
  /**
   * Estimate each scene's label-to-image shift within ± this many pixels and apply it to the
   * labels (data/label-alignment.ts); recorded per scene. Null/absent: labels as they are.
   */
  align?: number | null;
  /** Replace an existing dataset at `out` (a folder that is not a dataset is never replaced). */
  overwrite?: boolean;
  progress?: boolean;
}

export interface PrepareSummary {
  out: string;
  scenes: number;
  tiles: number;
  megapixels: number;
  seconds: number;
  megapixelsPerSecond: number;
  unknown: Record<string, number>;
  /** With `align`: each scene's estimated shift. */
  alignments: ({ scene: string } & Alignment)[];
}

/** Class ids of a label window, ignore outside the scene (read past the edge). */
async function labelWindow(label: Raster, w: Window, table: ClassTable, unknown: UnknownPolicy, counts: Record<string, number>, isFinal: boolean): Promise<Tensor> {
  const { width, height } = label.info;
  if (isFinal) {
    const ids = await label.read(w, { bands: [1], fill: table.ignoreIndex });
    return torch.tidy(() => ids.select(0, 0).to('uint8').contiguous());
  }
  const mask = await label.read(w, { fill: 0 });
  return torch.tidy(() => {
    const decoded = decodeMask(mask, table, { colorTable: label.info.colorTable, unknown, where: label.info.path });
    for (const [k, n] of decoded.unknown) counts[k] = (counts[k] ?? 0) + n;
    const x0 = Math.max(0, w.x), y0 = Math.max(0, w.y);
    const x1 = Math.min(width, w.x + w.width), y1 = Math.min(height, w.y + w.height);
    if (x0 === w.x && y0 === w.y && x1 === w.x + w.width && y1 === w.y + w.height) return decoded.index;
    const out = torch.full([w.height, w.width], table.ignoreIndex, { dtype: 'uint8' });
    const part = decoded.index.narrow(0, y0 - w.y, y1 - y0).narrow(1, x0 - w.x, x1 - x0);
    out.narrow(0, y0 - w.y, y1 - y0).narrow(1, x0 - w.x, x1 - x0).copy_(part);
    return out;
  });
}

/** A scene's label-to-image shift within ±radius (the whole scene read once). */
async function sceneAlignment(image: Raster, label: Raster, table: ClassTable, unknown: UnknownPolicy, isFinal: boolean, radius: number): Promise<Alignment> {
  const { width, height } = image.info;
  const whole = { x: 0, y: 0, width, height };
  const ids = await labelWindow(label, whole, table, unknown, {}, isFinal);
  const img = await image.read(whole);
  try {
    return estimateAlignment(img, ids, table.ignoreIndex, radius);
  } finally {
    torch.dispose([ids, img]);
  }
}

export async function prepare(opts: PrepareOptions): Promise<PrepareSummary> {
  const started = Date.now();
  const tile = opts.tile ?? 512;
  const overlap = opts.overlap ?? 0.25;
  const unknown = opts.unknown ?? 'ignore';
  planTiles(tile, tile, { tile, overlap }); // validates tile and overlap before any work
  const table = readClassTable(opts.classes);
  const C = table.classes.length;
  const ids = table.classes.map((c) => c.id).sort((a, b) => a - b);
  if (ids.some((id, i) => id !== i)) throw new GeosegError(`${opts.classes}: class ids must be 0..${C - 1} without gaps, got ${ids.join(', ')}`);
  const pairs = pairScenes(opts.images, opts.labels);
  const reference = opts.matchHistograms ? await referenceHistograms(resolve(opts.matchHistograms)) : null;

  const out = resolve(opts.out);
  if (!existsSync(dirname(out))) throw new GeosegError(`${out}: parent folder ${dirname(out)} does not exist`);
  const checkOut = () => checkOutputFolder(out, 'dataset.json', 'prepared dataset', opts.overwrite ?? false);
  checkOut();
  const tmp = tempSibling(out);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'tiles'), { recursive: true });
  const work = join(tmp, 'work'); // rasterized / resampled intermediates, removed at the end
  mkdirSync(work);
  try {
    const scenes: SceneRecord[] = [];
    const tiles: TileRecord[] = [];
    const unknownAll: Record<string, number> = {};
    const alignments: ({ scene: string } & Alignment)[] = [];
    let bands = -1;
    let dtype = '';
    let megapixels = 0;
    // Per-band sums for the normalization statistics (float64, in libtorch).
    let sum: Tensor | null = null;
    let sumSq: Tensor | null = null;
    let valid = 0;
    // The scenes' histograms as tiled, [bands, size] over values from histogramLo (integer bands
    // of up to 16 bits, all scenes of one type; else none are recorded).
    let histograms: Tensor | null = null;
    let histogramLo: number | null = null;
    let pooling = true;
    // Progress in source megapixels, advanced tile by tile.
    let totalMpx = 0;
    for (const pair of pairs) {
      const r = await Raster.open(pair.image);
      totalMpx += (r.info.width * r.info.height) / 1e6;
      r.close();
    }
    const progress = new Progress('prepare', totalMpx, 'Mpx', opts.progress ?? false);
    for (const [s, pair] of pairs.entries()) {
      const src = await sceneSource(pair, s, work, table, { gsd: opts.gsd, vector: opts.vector, unknown });
      const image = await Raster.open(src.image);
      const label = await Raster.open(src.label).catch((e) => { image.close(); throw e; });
      let lookup: Tensor | null = null; // the scene's histogram-matching table
      try {
        const { width, height } = image.info;
        if (label.info.width !== width || label.info.height !== height) {
          throw new GeosegError(`${pair.label}: label is ${label.info.width} × ${label.info.height} but its image ${pair.image} is ${width} × ${height}`);
        }
        if (bands < 0) bands = image.info.bandCount;
        if (image.info.bandCount !== bands) throw new GeosegError(`${pair.image}: has ${image.info.bandCount} bands, the first scene had ${bands}`);
        const unknownScene: Record<string, number> = { ...src.unknown };
        const matchable = matchableTypes(image.info.dataTypes);
        if (reference) histogramDomain(pair.image, image.info.dataTypes); // refuses other types
        const sceneHistograms = matchable ? await rasterHistograms(src.image) : null;
        lookup = reference ? matchingTable(sceneHistograms!, reference).keep() : null;
        const sameDomain = histogramLo === null || (sceneHistograms?.lo === histogramLo && sceneHistograms.counts[0].length === histograms?.shape[1]);
        if (pooling && sceneHistograms && sameDomain) {
          histograms = addSceneHistograms(histograms, sceneHistograms, lookup);
          histogramLo = sceneHistograms.lo;
        } else {
          pooling = false;
          histograms?.dispose();
          histograms = null;
        }
        const nodata = image.info.nodata.every((v) => v === image.info.nodata[0]) ? image.info.nodata[0] : null;
        // Label-to-image alignment: label windows are read (dx, dy) further on.
        const alignment = opts.align ? await sceneAlignment(image, label, table, unknown, src.labelIsFinal, opts.align) : null;
        if (alignment) alignments.push({ scene: pair.id, ...alignment });
        const shifted = (w: Window): Window => (alignment ? { ...w, x: w.x + alignment.dx, y: w.y + alignment.dy } : w);
        // Scene-level counts: every pixel once, in strips of tile rows.
        const pixels = new Array(C).fill(0);
        let ignored = 0;
        for (let y = 0; y < height; y += tile) {
          const strip = await labelWindow(label, shifted({ x: 0, y, width, height: Math.min(tile, height - y) }), table, unknown, unknownScene, src.labelIsFinal);
          const c = countClasses(strip, C, table.ignoreIndex);
          strip.dispose();
          c.pixels.forEach((n, k) => { pixels[k] += n; });
          ignored += c.ignored;
        }
        const windows = planTiles(width, height, { tile, overlap });
        const sceneMpx = (width * height) / 1e6 * (src.resampledFrom ? (src.resampledFrom / opts.gsd!) ** -2 : 1);
        for (const w of windows) {
          await torch.tidy(async () => {
            const read = await image.read(w, { fill: 0 });
            const img = lookup ? applyMatching(read, lookup, nodataPixels(read, nodata), sceneHistograms!.lo) : read;
            if (!dtype) dtype = img.dtype;
            const mask = await labelWindow(label, shifted(w), table, unknown, {}, src.labelIsFinal);
            const c = countClasses(mask, C, table.ignoreIndex);
            const file = `tiles/${String(s).padStart(5, '0')}_${w.x}_${w.y}.safetensors`;
            torch.saveSafetensors(join(tmp, file), { image: img, mask });
            tiles.push({ id: tiles.length, scene: s, x: w.x, y: w.y, file, histogram: c.pixels, ignored: c.ignored });
            // statistics over labelled pixels of this tile
            const keep = mask.ne(table.ignoreIndex);
            const n = keep.sum().item();
            if (n > 0) {
              const values = img.to("float64").maskedSelect(keep).reshape([bands, -1]);
              const s1 = values.sum([1]);
              const s2 = values.pow(2).sum([1]);
              const nextSum = (sum ? sum.add(s1) : s1).keep();
              const nextSq = (sumSq ? sumSq.add(s2) : s2).keep();
              sum?.dispose();
              sumSq?.dispose();
              sum = nextSum;
              sumSq = nextSq;
              valid += n;
            }
          });
          progress.tick(sceneMpx / windows.length);
        }
        megapixels += (width * height) / 1e6;
        for (const [k, n] of Object.entries(unknownScene)) unknownAll[k] = (unknownAll[k] ?? 0) + n;
        scenes.push({
          id: pair.id, image: resolve(pair.image), label: resolve(pair.label), width, height, bands,
          crs: image.info.crs, epsg: image.info.epsg, geoTransform: image.info.geoTransform,
          encoding: src.encoding || (label.info.bandCount >= 3 ? 'rgb' : label.info.colorTable ? 'palette' : 'index'),
          gsd: pixelSize(image.info.geoTransform), resampledFrom: src.resampledFrom,
          pixels, ignored, unknown: unknownScene,
          ...(alignment ? { alignment } : {}),
        });
      } finally {
        image.close();
        label.close();
        lookup?.dispose();
      }
    }
    const mean = sum ? Array.from((sum as Tensor).div(Math.max(valid, 1)).data() as Float64Array) : [];
    const std = sumSq ? Array.from((sumSq as Tensor).div(Math.max(valid, 1)).data() as Float64Array, (m2, i) => Math.sqrt(Math.max(m2 - mean[i] ** 2, 0))) : [];
    const bandHistograms = histograms ? trimHistograms({ lo: histogramLo!, counts: (histograms as Tensor).toArray() as number[][] }) : null;
    (sum as Tensor | null)?.dispose();
    (histograms as Tensor | null)?.dispose();
    (sumSq as Tensor | null)?.dispose();
    const dataset: DatasetJson = {
      version: 1,
      createdAt: new Date().toISOString(),
      classes: table.classes.map((c) => ({ id: c.id, name: c.name, color: c.color })).sort((a, b) => a.id - b.id),
      ignoreIndex: table.ignoreIndex,
      bands,
      dtype,
      tileSize: tile,
      overlap,
      normalization: { mean, std },
      histograms: bandHistograms?.counts ?? null,
      ...(bandHistograms && bandHistograms.lo !== 0 ? { histogramsOffset: bandHistograms.lo } : {}),
      ...(opts.matchHistograms ? { histogramMatch: { reference: resolve(opts.matchHistograms) } } : {}),
      scenes,
      tiles,
      split: null,
      sampling: null,
    };
    rmSync(work, { recursive: true, force: true });
    writeFileSync(join(tmp, 'dataset.json'), JSON.stringify(dataset, null, 1));
    // Swap the finished folder in; an older dataset at `out` is removed only now (checked again:
    // something may have appeared there while we worked).
    checkOut();
    swapInFolder(tmp, out);
    const seconds = (Date.now() - started) / 1000;
    return { out, scenes: scenes.length, tiles: tiles.length, megapixels, seconds, megapixelsPerSecond: megapixels / seconds, unknown: unknownAll, alignments };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
