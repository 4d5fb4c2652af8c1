// Scene discovery (SegHZ's "数据发现"): scenes described by their band statistics and texture,
// clustered by k-means, each cluster shown as a contact sheet; with a training dataset, the
// scenes unlike any training scene are flagged. Everything is computed from thumbnails (GDAL
// averages each scene down to THUMB pixels on its longer side), so a folder of large scenes is
// read quickly.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { checkOutputFolder, swapInFolder, tempSibling } from '../outputs.js';
import { Progress } from '../progress.js';
import { writePng } from '../plot/png.js';
import { Raster } from '../raster/index.js';
import { readDataset } from './dataset.js';
import { listInput, RASTER_EXTENSIONS } from './pairing.js';

const THUMB = 256;
/** Contact sheets: thumbnails of SHEET_TILE pixels, SHEET_COLUMNS a row, at most SHEET_MAX. */
const SHEET_TILE = 128, SHEET_GAP = 4, SHEET_COLUMNS = 6, SHEET_MAX = 24;

export interface DiscoverOptions {
  /** Scenes: a raster, a folder (recursive) or a glob. */
  scenes: string;
  /** Clusters (default min(4, scenes)). */
  clusters?: number;
  /** A prepared dataset: flag scenes far from its scenes. */
  dataset?: string | null;
  /** Output folder: discover.json and cluster-<k>.png. */
  out: string;
  overwrite?: boolean;
  seed?: number;
  progress?: boolean;
}

export interface DiscoveredScene {
  path: string;
  cluster: number;
  /** Distance to its cluster's centre (standardised features). */
  distance: number;
  /** With a dataset: distance to the nearest training scene, and whether it is beyond the training scenes' own spread. */
  nearestTraining?: number;
  far?: boolean;
}

export interface DiscoverResult {
  out: string;
  features: string[];
  scenes: DiscoveredScene[];
  clusters: { id: number; size: number; examples: string[]; sheet: string }[];
  /** With a dataset: the largest distance of a training scene to its nearest other training scene. */
  farThreshold: number | null;
}

/** Feature names for `bands` bands. */
export function featureNames(bands: number): string[] {
  const perBand = ['mean', 'std', 'p5', 'p50', 'p95'];
  return [...Array.from({ length: bands }, (_, b) => perBand.map((n) => `band${b + 1}.${n}`)).flat(), 'texture.gradient', 'texture.laplacian'];
}

/** A thumbnail's features [5 · bands + 2]: per band mean, std, 5/50/95th percentiles; gradient and Laplacian energy of the band mean, relative to its std. */
export function thumbnailFeatures(t: Tensor): number[] {
  return torch.tidy(() => {
    const [B, h, w] = t.shape;
    const x = t.to('float32').nanToNum(0, 0, 0);
    const flat = x.view([B, -1]);
    const q = torch.quantile(flat, torch.tensor([0.05, 0.5, 0.95]), 1); // [3, B]
    const stats = torch.stack([flat.mean([1]), flat.std([1]), q.select(0, 0), q.select(0, 1), q.select(0, 2)], 1).flatten();
    const gray = x.mean([0]).view([1, 1, h, w]);
    const spread = gray.std().item() + 1e-6;
    const sobel = torch.tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1], { shape: [1, 1, 3, 3] });
    const gx = torch.conv2d(gray, sobel), gy = torch.conv2d(gray, sobel.transpose(2, 3));
    const gradient = gx.pow(2).add(gy.pow(2)).sqrt().mean().item() / spread;
    const laplacian = torch.conv2d(gray, torch.tensor([0, 1, 0, 1, -4, 1, 0, 1, 0], { shape: [1, 1, 3, 3] })).abs().mean().item() / spread;
    return [...(stats.toArray() as number[]), gradient, laplacian];
  });
}

/**
 * k-means of rows [n, d]: k-means++ seeding from `seed`, then Lloyd's iterations until no point
 * moves. Returns each row's cluster and the centres [k, d].
 */
export function kMeans(x: Tensor, k: number, seed = 0): { labels: number[]; centres: Tensor } {
  const n = x.shape[0];
  if (k < 1 || k > n) throw new GeosegError(`discover: ${k} clusters for ${n} scenes (give 1 to ${n})`);
  return torch.tidy(() => {
    torch.manualSeed(seed);
    const chosen = [Number(torch.randint(0, n, [1]).item())];
    while (chosen.length < k) {
      const d = torch.cdist(x, x.indexSelect(0, torch.tensor(chosen, { dtype: 'int64' }))).amin(1).pow(2);
      // a point already chosen has weight 0; all-equal points: take the next unchosen one
      const total = d.sum().item();
      chosen.push(total > 0 ? Number(torch.multinomial(d.div(total), 1).item()) : Array.from({ length: n }, (_, i) => i).find((i) => !chosen.includes(i))!);
    }
    let centres = x.indexSelect(0, torch.tensor(chosen, { dtype: 'int64' }));
    let labels: number[] = [];
    for (let it = 0; it < 300; it++) {
      const next = Array.from(torch.cdist(x, centres).argmin(1).data() as BigInt64Array, Number);
      if (next.every((l, i) => l === labels[i])) break;
      labels = next;
      const rows: Tensor[] = [];
      for (let c = 0; c < k; c++) {
        const members = labels.flatMap((l, i) => (l === c ? [i] : []));
        // an empty cluster takes the point farthest from its centre
        if (members.length === 0) {
          const far = torch.cdist(x, centres).gather(1, torch.tensor(labels, { dtype: 'int64' }).view([-1, 1])).argmax().item();
          rows.push(x.select(0, Number(far)));
        } else rows.push(x.indexSelect(0, torch.tensor(members, { dtype: 'int64' })).mean([0]));
      }
      centres = torch.stack(rows);
    }
    return { labels, centres };
  });
}

/** A thumbnail as RGB bytes [3, h, w]: its first three bands (one band: grey), each stretched from its 2nd to 98th percentile. */
function toRgb(t: Tensor): Tensor {
  return torch.tidy(() => {
    const rgb = t.shape[0] >= 3 ? t.narrow(0, 0, 3) : t.narrow(0, 0, 1).expand([3, t.shape[1], t.shape[2]]);
    const flat = rgb.nanToNum(0, 0, 0).reshape([3, -1]);
    const q = torch.quantile(flat, torch.tensor([0.02, 0.98]), 1); // [2, 3]
    const lo = q.select(0, 0).view([3, 1, 1]), hi = q.select(0, 1).view([3, 1, 1]);
    return rgb.sub(lo).div(hi.sub(lo).clampMin(1e-6)).clamp(0, 1).mul(255).round().to('uint8');
  });
}

/** A cluster's contact sheet: its thumbnails (nearest the centre first) in a grid on white. */
function contactSheet(thumbs: Tensor[]): Tensor {
  return torch.tidy(() => {
    const shown = thumbs.slice(0, SHEET_MAX);
    const cols = Math.min(SHEET_COLUMNS, shown.length), rows = Math.ceil(shown.length / SHEET_COLUMNS);
    const cell = SHEET_TILE + SHEET_GAP;
    const sheet = torch.full([3, rows * cell + SHEET_GAP, cols * cell + SHEET_GAP], 255, { dtype: 'uint8' });
    shown.forEach((t, i) => {
      const [, h, w] = t.shape;
      const f = SHEET_TILE / Math.max(h, w);
      const size: [number, number] = [Math.max(1, Math.round(h * f)), Math.max(1, Math.round(w * f))];
      const small = torch.nn.functional.interpolate(toRgb(t).unsqueeze(0).to('float32'), { size, mode: 'bilinear', alignCorners: false }).squeeze(0).round().clamp(0, 255).to('uint8');
      const y = SHEET_GAP + Math.floor(i / SHEET_COLUMNS) * cell, x = SHEET_GAP + (i % SHEET_COLUMNS) * cell;
      sheet.narrow(1, y, size[0]).narrow(2, x, size[1]).copy_(small);
    });
    return sheet;
  });
}

async function thumbnail(path: string): Promise<Tensor> {
  const r = await Raster.open(path);
  try {
    return await r.readThumbnail(THUMB);
  } finally {
    r.close();
  }
}

export async function discover(opts: DiscoverOptions): Promise<DiscoverResult> {
  const { files } = listInput(opts.scenes, RASTER_EXTENSIONS);
  if (files.length === 0) throw new GeosegError(`${opts.scenes}: no rasters found`);
  const k = opts.clusters ?? Math.min(4, files.length);
  if (!Number.isInteger(k) || k < 1 || k > files.length) throw new GeosegError(`--clusters: ${opts.clusters}: give 1 to ${files.length} (the scenes found)`);
  const out = resolve(opts.out);
  checkOutputFolder(out, 'discover.json', 'discover', opts.overwrite ?? false);
  const training = opts.dataset ? readDataset(opts.dataset).scenes.map((s) => s.image) : [];
  const progress = new Progress('discover', files.length + training.length, 'scenes', opts.progress ?? false);
  const thumbs: Tensor[] = [];
  try {
    const features: number[][] = [];
    let bands = -1;
    for (const f of files) {
      const t = await thumbnail(f);
      if (bands < 0) bands = t.shape[0];
      if (t.shape[0] !== bands) throw new GeosegError(`${f}: has ${t.shape[0]} bands, the first scene had ${bands}`);
      thumbs.push(t.keep());
      features.push(thumbnailFeatures(t));
      progress.tick(1);
    }
    const trainingFeatures: number[][] = [];
    for (const f of training) {
      const t = await thumbnail(f);
      if (t.shape[0] !== bands) throw new GeosegError(`${f}: the dataset's scenes have ${t.shape[0]} bands, the scenes ${bands}`);
      trainingFeatures.push(thumbnailFeatures(t));
      t.dispose();
      progress.tick(1);
    }
    const result = torch.tidy(() => {
      const x = torch.tensor(features, { dtype: 'float64' });
      // standardised by the training scenes when there are any (their spread defines "far"), else by the scenes themselves
      const basis = trainingFeatures.length >= 2 ? torch.tensor(trainingFeatures, { dtype: 'float64' }) : x;
      const mu = basis.mean([0], true), sigma = basis.std([0], true, true).clampMin(1e-9);
      const z = x.sub(mu).div(sigma);
      const { labels, centres } = kMeans(z, k, opts.seed ?? 0);
      const distance = Array.from(torch.cdist(z, centres).gather(1, torch.tensor(labels, { dtype: 'int64' }).view([-1, 1])).flatten().data() as Float64Array);
      let nearest: number[] | null = null, threshold: number | null = null;
      if (trainingFeatures.length > 0) {
        const t = basis.sub(mu).div(sigma);
        nearest = Array.from(torch.cdist(z, t).amin(1).data() as Float64Array);
        if (trainingFeatures.length >= 2) {
          const own = torch.cdist(t, t).add(torch.eye(t.shape[0], { dtype: 'float64' }).mul(1e300)); // leave each one out
          threshold = own.amin(1).amax().item();
        }
      }
      return { labels, distance, nearest, threshold };
    });
    const scenes: DiscoveredScene[] = files.map((f, i) => ({
      path: resolve(f), cluster: result.labels[i], distance: result.distance[i],
      ...(result.nearest ? { nearestTraining: result.nearest[i], far: result.threshold !== null && result.nearest[i] > result.threshold } : {}),
    }));
    const tmp = tempSibling(out);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      const clusters = [];
      for (let c = 0; c < k; c++) {
        const members = scenes.map((s, i) => ({ s, i })).filter(({ s }) => s.cluster === c).sort((a, b) => a.s.distance - b.s.distance);
        const sheet = `cluster-${c}.png`;
        const pixels = contactSheet(members.map(({ i }) => thumbs[i]));
        try {
          await writePng(join(tmp, sheet), pixels, 'the contact sheet');
        } finally {
          pixels.dispose();
        }
        clusters.push({ id: c, size: members.length, examples: members.slice(0, 3).map(({ s }) => s.path), sheet });
      }
      const summary: DiscoverResult = { out, features: featureNames(bands), scenes, clusters, farThreshold: result.threshold };
      writeFileSync(join(tmp, 'discover.json'), JSON.stringify(summary, null, 1));
      checkOutputFolder(out, 'discover.json', 'discover', opts.overwrite ?? false);
      swapInFolder(tmp, out);
      return summary;
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    torch.dispose(thumbs);
  }
}

/** A scene's path relative to where it was found, for printing. */
export const shortPath = (path: string, from: string) => relative(resolve(from), path) || path;
