// The streaming blender of prediction and evaluation: a scene of any size, read window by window
// through `read`, predicted in batches along each window row and blended into a block buffer
// one window tall and one batch wide; as the batches move right, the columns that no later window
// of the row reaches are finished (the rows the next window row does not reach) or kept in a
// carry buffer (the rows it does, at most window − stride of them). Memory: model + batch +
// block + carry (channels × overlap rows × scene width), whatever the scene's height.
//
// It yields, after each window row, the rows it finished ("row bands"): class ids, and on demand
// the winning probability and every class's probability (uint8, ×255), and the nodata mask.
// Nodata pixels (the declared value in every band; NaN or infinite in any band when asked) enter
// the model as the mean and come out as class NODATA_CLASS, confidence 0.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import type { WindowModel } from '../models/window-model.js';
import { blendProfile } from './blend.js';
import { normalizationTensors, normalize, type Normalization } from './normalize.js';
import { predictWindows, type WindowOptions } from './window-predict.js';
import { denseCrfWindows } from './crf/dense-crf.js';
import { axisTotal, firstRowAfter, rowEnd, type WindowGrid } from './window-grid.js';

export const NODATA_CLASS = 255;

/** Reads the raw window [bands, h, w] at (x, y) (past the scene's border: any value, it is masked). */
export type WindowReader = (x: number, y: number, w: number, h: number) => Promise<Tensor>;

export interface NodataRule {
  /** The declared nodata value (a pixel is nodata when every band holds it), or null. */
  value: number | null;
  /** NaN or infinite in any band is nodata (float inputs). */
  nonFinite: boolean;
}

export interface StreamOptions extends WindowOptions {
  grid: WindowGrid;
  classes: number;
  norm: Normalization;
  nodata: NodataRule;
  read: WindowReader;
  confidence?: boolean;
  probabilities?: boolean;
  /** Rows [0, done) are already finished (a resumed run) or another's (a part of the scene): they are not yielded. */
  done?: number;
  /** Stop after window row `until` − 1 (a part of the scene's rows; default: every row). */
  until?: number;
}

/** Finished scene rows [y0, y1). The tensors are the blender's: valid until the next band is asked for. */
export interface RowBand {
  /** The window row that finished them. */
  row: number;
  y0: number;
  y1: number;
  /** [h, W] uint8 class ids, NODATA_CLASS at nodata. */
  classes: Tensor;
  /** [h, W] uint8 winning probability × 255 (0 at nodata), when asked. */
  confidence: Tensor | null;
  /** [K, h, W] uint8 probabilities × 255, when asked. */
  probabilities: Tensor | null;
  /** [h, W] bool, when the input can hold nodata. */
  nodata: Tensor | null;
}

/** `t` with `value` where `mask` is set (no mask: `t` itself). */
const maskedOrSame = (t: Tensor, mask: Tensor | undefined, value: number) => (mask ? t.maskedFill_(mask, value) : t);

/** The blended row bands of a scene, top to bottom (the model in eval mode). */
export async function* blendRows(model: WindowModel, opts: StreamOptions): AsyncGenerator<RowBand> {
  const { grid, classes: K, nodata, batch, tta, precision } = opts;
  // windows Sx wide and Sy tall
  const { xs, ys, sizeX: Sx, sizeY: Sy, width: W, height: H } = grid;
  const Wacc = Math.max(W, Sx);
  const marksNodata = nodata.value !== null || nodata.nonFinite;
  // Channels: the weighted class sums, plus (when the input can have nodata) one counting
  // windows that saw the pixel as nodata.
  const channels = K + (marksNodata ? 1 : 0);
  const done = opts.done ?? 0;
  const firstRow = firstRowAfter(grid, done);
  const endRow = Math.min(opts.until ?? ys.length, ys.length);
  const norm = normalizationTensors(opts.norm);
  norm.mean.keep();
  norm.std.keep();

  // Separable blending: window weight w(y)·w(x), so a pixel's total weight is Ty(y)·Tx(x).
  const profileX = blendProfile(Sx, opts.blend).keep();
  const profileY = Sy === Sx ? profileX : blendProfile(Sy, opts.blend).keep();
  const weight2d = profileY.unsqueeze(1).mul(profileX.unsqueeze(0)).keep();
  const rowTotal = axisTotal(ys, Math.max(H, Sy), profileY).keep();
  const colTotal = axisTotal(xs, Wacc, profileX).keep();

  // Batches in reading order: window row r, windows xs[i .. i + batch).
  const groupStarts: number[] = [];
  for (let i = 0; i < xs.length; i += batch) groupStarts.push(i);
  const groupSpan = (i: number) => xs[Math.min(i + batch, xs.length) - 1] + Sx - xs[i];
  // `block`: the sums of the window row being predicted, over the columns of one batch; the
  // columns no later batch of the row reaches are finished (rows the next window row does not
  // reach) or moved to `carry` (rows it does), the others stay for the next batch.
  const block = torch.zeros([channels, Sy, Math.max(...groupStarts.map(groupSpan))]).keep();
  const carryRows = Math.max(1, ...ys.slice(1).map((y1, r) => ys[r] + Sy - y1));
  const carry = torch.zeros([channels, carryRows, Wacc]).keep();
  // `rows`: the finished rows of the window row as uint8, all columns, until yielded.
  const bandRows = Math.max(...ys.map((y, r) => rowEnd(grid, r) - y));
  const rows = {
    classes: torch.zeros([bandRows, W], { dtype: 'uint8' }).keep(),
    confidence: opts.confidence ? torch.zeros([bandRows, W], { dtype: 'uint8' }).keep() : null,
    probabilities: opts.probabilities ? torch.zeros([K, bandRows, W], { dtype: 'uint8' }).keep() : null,
    nodata: marksNodata ? torch.zeros([bandRows, W], { dtype: 'bool' }).keep() : null,
  };
  const batches: { r: number; i: number }[] = [];
  for (let r = firstRow; r < endRow; r++) for (const i of groupStarts) batches.push({ r, i });
  const readBatch = ({ r, i }: { r: number; i: number }) => Promise.all(xs.slice(i, i + batch).map((x) => opts.read(x, ys[r], Sx, Sy)));
  // The next batch is read while this one computes; a failed read ahead is reported when
  // awaited, never as an unhandled rejection.
  const ahead = (k: number) => { const p = k < batches.length ? readBatch(batches[k]) : Promise.resolve([]); p.catch(() => undefined); return p; };
  let nextBatch = 0;
  let pending = ahead(nextBatch);

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
    if (rows.nodata) rows.nodata.narrow(0, 0, h).narrow(1, a, w).copy_(bad!);
    if (rows.confidence) rows.confidence.narrow(0, 0, h).narrow(1, a, w).copy_(maskedOrSame(best.div_(total).mul_(255).round_().to('uint8'), bad, 0));
    if (rows.probabilities) rows.probabilities.narrow(1, 0, h).narrow(2, a, w).copy_(scores.div(total.unsqueeze(0)).mul_(255).round_().to('uint8'));
  });

  /** Adds a batch's blended probabilities (and nodata counts) at windows xs[i ..] into the block (scene column a). */
  const addBatch = (group: Tensor[], i: number, a: number) => torch.inferenceMode(() => torch.tidy(() => {
    const raw = torch.stack(group);
    const x = normalize(raw, norm);
    // Nodata pixels enter the model as the mean, not as their raw fill value; NaN and
    // infinities in any band make a pixel nodata.
    let nodataMask = nodata.value !== null ? raw.eq(nodata.value).all(1) : null;
    if (nodata.nonFinite) {
      const nonFinite = raw.isfinite().logicalNot().any(1);
      nodataMask = nodataMask ? nodataMask.logicalOr(nonFinite) : nonFinite;
    }
    if (nodataMask) x.maskedFill_(nodataMask.unsqueeze(1), 0);
    // Outside the scene (windows larger than it): zeros, i.e. the mean.
    if (W < Sx) x.narrow(3, W, Sx - W).zero_();
    if (H < Sy) x.narrow(2, H, Sy - H).zero_();
    const predicted = predictWindows(model, x, tta, precision);
    const p = opts.crf ? denseCrfWindows(predicted, raw, opts.crf) : predicted;
    group.forEach((_, j) => {
      const target = block.narrow(2, xs[i + j] - a, Sx);
      target.narrow(0, 0, K).addcmul_(p.select(0, j), weight2d);
      if (nodataMask) target.select(0, K).add_(nodataMask.select(0, j));
    });
  }));

  try {
    for (let r = firstRow; r < endRow; r++) {
      const y = ys[r];
      // Rows [y, y + top) hold sums from the row above; rows [y, next) are complete after this
      // row, rows [next, y + Sy) go on to the next one.
      const top = r > firstRow ? ys[r - 1] + Sy - y : 0;
      const next = rowEnd(grid, r);
      const bottom = r + 1 < ys.length ? y + Sy - next : 0;
      const skip = Math.max(0, done - y); // finished before (a resumed run)
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
          addBatch(group, i, a);
        } finally {
          torch.dispose(group);
        }
        // Freed small activations go back to the system after each batch, so glibc's heap does not
        // ratchet up to a high-water mark well above what is live (~100 MB less peak, ~3% time;
        // measured before the caching CPU allocator, which now keeps blocks of 1 MB and more for
        // the next batch, within the peak of live bytes).
        torch.mallocTrim();
        const cols = end - a;
        if (next - y > skip) finishBlock(y, a, skip, next - y - skip, cols);
        kept = span - cols;
        torch.tidy(() => {
          if (bottom > 0) carry.narrow(1, 0, bottom).narrow(2, a, cols).copy_(block.narrow(1, next - y, bottom).narrow(2, 0, cols));
          // The columns the next batch shares move to the block's start (through a clone: the regions may overlap).
          if (kept > 0) block.narrow(2, 0, kept).copy_(block.narrow(2, cols, kept).clone());
        });
      }
      if (next - y > skip) yield* bandOf(rows, r, y + skip, next);
    }
  } finally {
    await pending.then((imgs) => torch.dispose(imgs), () => undefined);
    torch.dispose([block, carry, rowTotal, colTotal, profileX, ...(profileY === profileX ? [] : [profileY]), weight2d, norm.mean, norm.std, ...Object.values(rows).filter((t): t is Tensor => t !== null)]);
  }
}

/** Yields the first y1 − y0 rows of `rows` as the band [y0, y1), its views freed when the consumer moves on. */
async function* bandOf(rows: Record<'classes' | 'confidence' | 'probabilities' | 'nodata', Tensor | null>, row: number, y0: number, y1: number): AsyncGenerator<RowBand> {
  const h = y1 - y0;
  const band = torch.tidy(() => ({
    row, y0, y1,
    classes: rows.classes!.narrow(0, 0, h),
    confidence: rows.confidence?.narrow(0, 0, h) ?? null,
    probabilities: rows.probabilities?.narrow(1, 0, h) ?? null,
    nodata: rows.nodata?.narrow(0, 0, h) ?? null,
  }));
  try {
    yield band;
  } finally {
    torch.dispose([band.classes, band.confidence, band.probabilities, band.nodata].filter((t): t is Tensor => t !== null));
  }
}
