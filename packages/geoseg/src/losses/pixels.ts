// What every loss does with its inputs first: check shapes, find the pixels that count (label
// not ignoreIndex), and give ignored pixels a harmless class so they can be indexed with.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { InputShapeError, ModelConfigError } from '../errors.js';

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);
const INT_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

/** Check logits [N, C, H, W] (floating) against target [N, H, W] (integer); returns the target as int64. */
export function checkLossInputs(loss: string, logits: Tensor, target: Tensor): Tensor {
  const ls = logits.shape;
  const ts = target.shape;
  if (ls.length !== 4) throw new InputShapeError(`loss ${loss}: expected logits [N, C, H, W], got shape [${ls.join(', ')}]`);
  if (!FLOAT_DTYPES.has(logits.dtype)) throw new InputShapeError(`loss ${loss}: expected floating-point logits, got ${logits.dtype}`);
  if (ts.length !== 3 || ts[0] !== ls[0] || ts[1] !== ls[2] || ts[2] !== ls[3]) {
    throw new InputShapeError(`loss ${loss}: expected target [${ls[0]}, ${ls[2]}, ${ls[3]}] to match logits [${ls.join(', ')}], got [${ts.join(', ')}]`);
  }
  if (target.dtype === 'int64') return target;
  if (!INT_DTYPES.has(target.dtype)) throw new InputShapeError(`loss ${loss}: expected an integer target (class ids), got ${target.dtype}`);
  return target.to('int64');
}

export interface Labels {
  /** [N, H, W] bool: pixels whose label is not ignoreIndex. */
  valid: Tensor;
  /** [N, H, W] int64: the target with ignored pixels set to class 0, safe to index with (mask with `valid`). */
  safeTarget: Tensor;
}

export function labelsOf(target: Tensor, ignoreIndex: number): Labels {
  const valid = target.ne(ignoreIndex);
  return { valid, safeTarget: target.maskedFill(valid.logicalNot(), 0) };
}

/** [N, C, H, W] one-hot labels in `dtype`, all zero at ignored pixels. */
export function oneHotLabels(labels: Labels, classes: number, dtype: Tensor['dtype']): Tensor {
  return torch.oneHot(labels.safeTarget, classes).permute([0, 3, 1, 2]).to(dtype).mul(labels.valid.unsqueeze(1));
}

/** A per-class option (class weights, focal alpha) as a tensor [C] like `like`; its length must be C. */
export function perClassTensor(loss: string, field: string, values: readonly number[], like: Tensor): Tensor {
  const classes = like.shape[1]!;
  if (values.length !== classes) {
    throw new ModelConfigError(`loss ${loss}: ${field} has ${values.length} value${values.length === 1 ? '' : 's'}, expected ${classes} (one per class of the logits)`);
  }
  return torch.tensor([...values], { dtype: like.dtype, device: like.device });
}

/**
 * Mean of per-pixel values over the pixels where `weight` (same shape) is non-zero, weighted by
 * it. No such pixel gives 0, still connected to the graph (0 / 1, never 0 / 0).
 */
export function weightedMean(values: Tensor, weight: Tensor): Tensor {
  return divideOrZero(values.mul(weight).sum(), weight.sum());
}

/**
 * numerator / denominator for a non-negative denominator that is 0 only when the numerator is
 * (nothing to average): then 0, with finite gradients, instead of NaN.
 */
export function divideOrZero(numerator: Tensor, denominator: Tensor): Tensor {
  return numerator.div(denominator.clampMin(1e-12));
}
