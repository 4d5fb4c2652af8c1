// The confusion matrix of a segmentation, accumulated in libtorch: rows are ground-truth classes,
// columns predicted classes, entries pixel counts (int64). Each update is one bincount of
// target·C + pred over the labelled pixels, so it costs O(pixels) in native code and one small
// [C, C] addition; nothing per pixel happens in JS.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';

const NOT_IDS = new Set(['float32', 'float64', 'float16', 'bfloat16', 'complex64', 'complex128']);

export class ConfusionMatrix {
  /**
   * Pixels counted per bincount: bounds the int64 temporaries of one update (about 6 × 8 bytes
   * a pixel: ~50 MB at 1M pixels, where a streamed evaluation's band of a 16384-wide scene has 6M).
   */
  static chunkElements = 1 << 20;
  readonly numClasses: number;
  readonly ignoreIndex: number;
  #counts: Tensor;

  /**
   * @param numClasses C, the number of classes (ids 0 … C-1).
   * @param ignoreIndex target value of unlabelled pixels; they are left out, as are targets
   *   outside [0, C).
   */
  constructor(numClasses: number, ignoreIndex = 255) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new GeosegError(`ConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    if (!Number.isInteger(ignoreIndex)) throw new GeosegError(`ConfusionMatrix: ignoreIndex must be an integer, got ${ignoreIndex}`);
    this.numClasses = numClasses;
    this.ignoreIndex = ignoreIndex;
    this.#counts = torch.zeros([numClasses, numClasses], { dtype: 'int64' }).keep();
  }

  /**
   * Count the pixels of one prediction against its target: tensors of equal shape (any shape,
   * any integer dtype, any device) holding class ids. Pixels whose target is `ignoreIndex` or
   * outside [0, C) are skipped; a prediction outside [0, C) on a counted pixel is an error.
   */
  update(pred: Tensor, target: Tensor): void {
    const C = this.numClasses;
    if (pred.shape.length !== target.shape.length || pred.shape.some((s, i) => s !== target.shape[i])) {
      throw new GeosegError(`ConfusionMatrix.update: prediction [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in shape`);
    }
    for (const [what, t] of [['prediction', pred], ['target', target]] as const) {
      if (NOT_IDS.has(t.dtype)) throw new GeosegError(`ConfusionMatrix.update: the ${what} must hold integer class ids, got ${t.dtype}`);
    }
    // Counted into a scratch matrix, in chunks (bounded int64 temporaries on large scenes), and
    // added only when every chunk is valid: a failed update changes nothing.
    torch.tidy(() => {
      const flatT = target.reshape([-1]);
      const flatP = pred.reshape([-1]);
      const n = flatT.numel();
      const step = ConfusionMatrix.chunkElements;
      const sum = torch.zeros([C * C], { dtype: 'int64' });
      for (let start = 0; start < n; start += step) {
        torch.tidy(() => {
          const len = Math.min(step, n - start);
          const t = flatT.narrow(0, start, len).to('int64');
          const p = flatP.narrow(0, start, len).to('int64');
          const valid = t.ge(0).logicalAnd(t.lt(C)).logicalAnd(t.ne(this.ignoreIndex));
          const tv = t.maskedSelect(valid);
          const pv = p.maskedSelect(valid);
          if (pv.numel() === 0) return;
          const [lo, hi] = torch.aminmax(pv).map((x) => x.item());
          if (lo < 0 || hi >= C) throw new GeosegError(`ConfusionMatrix.update: predicted ids must be in [0, ${C}), got values from ${lo} to ${hi}`);
          sum.add_(torch.bincount(tv.mul(C).add(pv), null, C * C).to('cpu'));
        });
      }
      this.#counts.add_(sum.view([C, C]));
    });
  }

  /** Add another matrix's counts (same number of classes) to this one. */
  add(other: ConfusionMatrix): void {
    if (other.numClasses !== this.numClasses) throw new GeosegError(`ConfusionMatrix.add: ${other.numClasses} classes added to ${this.numClasses}`);
    this.#counts.add_(other.#counts);
  }

  /** Set every count to 0. */
  reset(): void {
    this.#counts.zero_();
  }

  /** The counts as nested arrays: `m[gt][pred]` (exact up to 2^53 pixels per cell). */
  toArray(): number[][] {
    const C = this.numClasses;
    const flat = this.#counts.contiguous().data() as BigInt64Array;
    return Array.from({ length: C }, (_, r) => Array.from({ length: C }, (_, c) => Number(flat[r * C + c])));
  }

  /** A matrix holding the counts `m[gt][pred]` (square, non-negative integers). */
  static fromArray(m: number[][], ignoreIndex = 255): ConfusionMatrix {
    const C = checkSquareCounts(m, 'ConfusionMatrix.fromArray');
    const cm = new ConfusionMatrix(C, ignoreIndex);
    torch.tidy(() => { cm.#counts.copy_(torch.tensor(m.flat(), { dtype: 'int64', shape: [C, C] })); });
    return cm;
  }

  /** Free the libtorch tensor now (the matrix is unusable afterwards). */
  dispose(): void {
    this.#counts.dispose();
  }
}

/** Validate a square matrix of non-negative integer counts; returns its size. */
export function checkSquareCounts(m: number[][], where: string): number {
  const C = Array.isArray(m) ? m.length : 0;
  if (C === 0) throw new GeosegError(`${where}: expected a non-empty square matrix of counts`);
  m.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== C) throw new GeosegError(`${where}: row ${r} has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${C} (a square matrix)`);
    row.forEach((v, c) => {
      if (!Number.isSafeInteger(v) || v < 0) throw new GeosegError(`${where}: entry [${r}][${c}] must be a non-negative integer count, got ${v}`);
    });
  });
  return C;
}
