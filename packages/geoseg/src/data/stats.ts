// Class statistics of a prepared dataset, from the per-scene counts (every scene pixel once):
// totals, frequencies, the long tail, tiles containing each class, suggested class weights.
import type { DatasetJson } from './dataset.js';

export interface ClassStats {
  classes: {
    id: number;
    name: string;
    pixels: number;
    frequency: number;
    /** Share of all labelled pixels held by this class and every more frequent one. */
    cumulative: number;
    tiles: number;
    weights: { inverseFrequency: number; medianFrequency: number; softmaxGap: number };
  }[];
  ignoredPixels: number;
  labelledPixels: number;
  perScene: { id: string; pixels: number[]; ignored: number }[];
}

export function classStats(ds: DatasetJson): ClassStats {
  const C = ds.classes.length;
  const pixels = new Array(C).fill(0);
  let ignored = 0;
  for (const s of ds.scenes) {
    s.pixels.forEach((n, k) => { pixels[k] += n; });
    ignored += s.ignored;
  }
  const labelled = pixels.reduce((a, b) => a + b, 0);
  const freq = pixels.map((n) => (labelled ? n / labelled : 0));
  const present = freq.filter((f) => f > 0).sort((a, b) => a - b);
  const median = present.length ? (present.length % 2 ? present[(present.length - 1) / 2] : (present[present.length / 2 - 1] + present[present.length / 2]) / 2) : 0;
  // The seeds' weights: w_i = softmax(max(f) - f_i), over frequencies.
  const maxF = Math.max(...freq);
  const exps = freq.map((f) => Math.exp(maxF - f));
  const z = exps.reduce((a, b) => a + b, 0);
  const order = [...freq.keys()].sort((a, b) => freq[b] - freq[a]);
  const cumulative = new Array(C).fill(0);
  let acc = 0;
  for (const k of order) {
    acc += freq[k];
    cumulative[k] = acc;
  }
  return {
    classes: ds.classes.map((c, k) => ({
      id: c.id,
      name: c.name,
      pixels: pixels[k],
      frequency: freq[k],
      cumulative: cumulative[k],
      tiles: ds.tiles.filter((t) => t.scene >= 0 && t.histogram[k] > 0).length, // copies from geoseg augment (scene -1) are not the scenes'
      weights: {
        inverseFrequency: freq[k] > 0 ? 1 / freq[k] : 0,
        medianFrequency: freq[k] > 0 ? median / freq[k] : 0,
        softmaxGap: exps[k] / z,
      },
    })),
    ignoredPixels: ignored,
    labelledPixels: labelled,
    perScene: ds.scenes.map((s) => ({ id: s.id, pixels: s.pixels, ignored: s.ignored })),
  };
}
