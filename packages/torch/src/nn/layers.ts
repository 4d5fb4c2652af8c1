// Layers with PyTorch's names, arguments, parameter names and default initialization.
import * as ops from '../generated/ops.js';
import { tensor } from '../factories.js';
import type { Tensor } from '../tensor.js';
import { interpolate, type InterpolateOptions } from './functional.js';
import { kaimingUniform_, fans, uniform_ } from './init.js';
import { Module } from './module.js';
import { native } from '../native.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

// PyTorch's default for conv and linear layers: kaiming_uniform(a=√5) weights, biases uniform
// in ±1/√fan_in.
function resetLinearLike(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight).fanIn);
    uniform_(bias, -bound, bound);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

// What Conv2d and ConvTranspose2d share (PyTorch's _ConvNd): geometry, weight and bias.
abstract class ConvBase extends Module {
  declare readonly weight: Tensor;
  declare readonly bias: Tensor | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  protected constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dOptions, transposed: boolean) {
    super();
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`${new.target.name}: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${this.groups}`);
    }
    const [kh, kw] = pair(kernelSize);
    // PyTorch's layouts: [out, in/groups, kh, kw], and [in, out/groups, kh, kw] when transposed.
    const shape = transposed ? [inChannels, outChannels / this.groups, kh, kw] : [outChannels, inChannels / this.groups, kh, kw];
    this.registerParameter('weight', ops.empty(shape));
    this.registerParameter('bias', opts.bias === false ? null : ops.empty([outChannels]));
    resetLinearLike(this.weight, this.bias);
  }
}

export class Conv2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts, false);
  }

  forward(x: Tensor): Tensor {
    return ops.conv2d(x, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
  }
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/** A 1-D convolution over [N, C, L] (weight [out, in/groups, k]), as PyTorch's. */
export class Conv1d extends Module {
  declare readonly weight: Tensor;
  declare readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number, opts: Conv1dOptions = {}) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv1d: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${this.groups}`);
    }
    this.registerParameter('weight', ops.empty([outChannels, inChannels / this.groups, kernelSize]));
    this.registerParameter('bias', opts.bias === false ? null : ops.empty([outChannels]));
    resetLinearLike(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return ops.conv1d(x, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
  }
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

export class ConvTranspose2d extends ConvBase {
  readonly outputPadding: [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts, true);
    this.outputPadding = pair(opts.outputPadding ?? 0);
  }

  forward(x: Tensor): Tensor {
    return ops.convTranspose2d(x, this.weight, this.bias, this.stride, this.padding, this.outputPadding, this.groups, this.dilation);
  }
}

export class Linear extends Module {
  declare readonly weight: Tensor;
  declare readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true } = {}) {
    super();
    this.registerParameter('weight', ops.empty([outFeatures, inFeatures]));
    this.registerParameter('bias', bias ? ops.empty([outFeatures]) : null);
    resetLinearLike(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias);
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** null: cumulative moving average, as in PyTorch. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  declare readonly weight: Tensor | null;
  declare readonly bias: Tensor | null;
  declare readonly running_mean: Tensor | null;
  declare readonly running_var: Tensor | null;
  declare readonly num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly trackRunningStats: boolean;
  /**
   * In training, normalise with the statistics of the whole batch across this process group's
   * ranks (PyTorch's SyncBatchNorm); set by distributed.convertSyncBatchNorm.
   */
  syncGroup: { nativeHandle(what: string): unknown } | null = null;

  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const affine = opts.affine ?? true;
    this.registerParameter('weight', affine ? ops.ones([numFeatures]) : null);
    this.registerParameter('bias', affine ? ops.zeros([numFeatures]) : null);
    this.registerBuffer('running_mean', this.trackRunningStats ? ops.zeros([numFeatures]) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? ops.ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? tensor(0, { dtype: 'int64' }) : null);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TypeError(`BatchNorm2d: expected a 4-d [N, C, H, W] input, got shape [${x.shape.join(', ')}]`);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      this.num_batches_tracked!.add_(1);
      if (this.momentum === null) factor = 1 / this.num_batches_tracked!.item();
    }
    const useBatchStats = this.training || !this.trackRunningStats;
    // as PyTorch: the variance of one value is 0 and its unbiased running update 0/0 = NaN
    // (synchronized: the whole batch's count, which the native code checks)
    if (useBatchStats && !(this.training && this.syncGroup) && x.shape[0] * x.shape[2] * x.shape[3] === 1) {
      throw new RangeError(`BatchNorm2d: expected more than 1 value per channel when training, got input shape [${x.shape.join(', ')}]`);
    }
    const track = !this.training || this.trackRunningStats;
    if (this.training && this.syncGroup) {
      if (this.momentum === null) throw new RangeError('BatchNorm2d: synchronized batch norm needs a momentum (not the cumulative average)');
      const sync = native.distributed.syncBatchNorm!;
      return sync(this.syncGroup.nativeHandle('syncBatchNorm'), x, this.weight, this.bias, track ? this.running_mean : null, track ? this.running_var : null, factor, this.eps) as Tensor;
    }
    return ops.batchNorm(x, this.weight, this.bias, track ? this.running_mean : null, track ? this.running_var : null,
      useBatchStats, factor, this.eps, true);
  }
}

export class GroupNorm extends Module {
  declare readonly weight: Tensor | null;
  declare readonly bias: Tensor | null;

  constructor(readonly numGroups: number, readonly numChannels: number, { eps = 1e-5, affine = true } = {}) {
    super();
    if (numChannels % numGroups) throw new Error(`GroupNorm: ${numChannels} channels are not divisible into ${numGroups} groups`);
    this.eps = eps;
    this.registerParameter('weight', affine ? ops.ones([numChannels]) : null);
    this.registerParameter('bias', affine ? ops.zeros([numChannels]) : null);
  }

  readonly eps: number;

  forward(x: Tensor): Tensor {
    return ops.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps, true);
  }
}

export class ReLU extends Module {
  constructor(readonly inplace = false) { super(); }
  forward(x: Tensor): Tensor { return this.inplace ? x.relu_() : x.relu(); }
}

export class ReLU6 extends Module {
  constructor(readonly inplace = false) { super(); }
  forward(x: Tensor): Tensor { return this.inplace ? x.hardtanh_(0, 6) : x.hardtanh(0, 6); }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01, readonly inplace = false) { super(); }
  forward(x: Tensor): Tensor { return this.inplace ? x.leakyRelu_(this.negativeSlope) : x.leakyRelu(this.negativeSlope); }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  forward(x: Tensor): Tensor { return x.gelu({ approximate: this.approximate }); }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, opts: PoolOptions & { dilation?: Pair } = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? kernelSize);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.ceilMode = opts.ceilMode ?? false;
  }

  forward(x: Tensor): Tensor {
    return ops.maxPool2d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, opts: PoolOptions & { countIncludePad?: boolean } = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? kernelSize);
    this.padding = pair(opts.padding ?? 0);
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
  }

  forward(x: Tensor): Tensor {
    return ops.avgPool2d(x, this.kernelSize, this.stride, this.padding, this.ceilMode, this.countIncludePad);
  }
}

export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(outputSize: Pair) {
    super();
    this.outputSize = pair(outputSize);
  }
  forward(x: Tensor): Tensor { return ops.adaptiveAvgPool2d(x, this.outputSize); }
}

export class Upsample extends Module {
  constructor(readonly options: InterpolateOptions) { super(); }
  forward(x: Tensor): Tensor { return interpolate(x, this.options); }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p > 1) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return ops.dropout(x, this.p, this.training); }
}

/** Zeroes whole channels (torch.nn.Dropout2d). */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p > 1) throw new RangeError(`Dropout2d: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return ops.featureDropout(x, this.p, this.training); }
}
