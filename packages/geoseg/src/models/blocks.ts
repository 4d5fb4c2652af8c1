// Small building blocks shared by decoders.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

/** Conv (no bias) → BatchNorm → ReLU, as a Sequential named '0', '1', '2'. */
export function convBnRelu(inC: number, outC: number, kernel: number, { dilation = 1, separable = false } = {}): nn.Sequential {
  const padding = kernel === 1 ? 0 : dilation * ((kernel - 1) / 2);
  const conv = separable && kernel > 1
    ? new SeparableConv2d(inC, outC, kernel, padding, dilation)
    : new nn.Conv2d(inC, outC, kernel, { padding, dilation, bias: false });
  return new nn.Sequential(conv, new nn.BatchNorm2d(outC), new nn.ReLU(true));
}

/** Depthwise (per channel) then pointwise convolution, as in DeepLabV3+'s separable variant. */
export class SeparableConv2d extends nn.Module {
  declare readonly depthwise: nn.Conv2d;
  declare readonly pointwise: nn.Conv2d;

  constructor(inC: number, outC: number, kernel: number, padding: number, dilation: number) {
    super();
    this.registerModule('depthwise', new nn.Conv2d(inC, inC, kernel, { padding, dilation, groups: inC, bias: false }));
    this.registerModule('pointwise', new nn.Conv2d(inC, outC, 1, { bias: false }));
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.depthwise.forward(x));
  }
}

/** Bilinear resize to a [height, width] (align_corners false, as torchvision's heads). */
export function resizeTo(x: Tensor, size: number[]): Tensor {
  const [h, w] = x.shape.slice(2);
  if (h === size[0] && w === size[1]) return x;
  return nn.functional.interpolate(x, { size: [size[0], size[1]], mode: 'bilinear', alignCorners: false });
}

/**
 * Batch norm that also trains on globally pooled features. With one value per channel in the batch
 * (batch size 1 at a 1x1 bin) batch statistics do not exist and PyTorch fails; here such a
 * BatchNorm normalizes with its running statistics for that call, so any batch size trains.
 */
export function batchNormPooled(bn: nn.BatchNorm2d, x: Tensor): Tensor {
  if (!bn.training || x.numel() !== x.shape[1]) return bn.forward(x);
  bn.training = false;
  try {
    return bn.forward(x);
  } finally {
    bn.training = true;
  }
}

/** Run a Sequential over globally pooled features (its batch norms as batchNormPooled). */
export function forwardPooled(seq: nn.Sequential, x: Tensor): Tensor {
  for (const m of seq) x = m instanceof nn.BatchNorm2d ? batchNormPooled(m, x) : m.forward(x);
  return x;
}

/**
 * Inference memory saver: fn(i) for each image i of a batch of n, concatenated along the batch.
 * For the largest (high-resolution) stages of a model in eval mode, where batch normalization uses
 * running statistics, so the result equals the whole-batch computation at 1/n of its peak memory.
 */
export function imageByImage(n: number, fn: (i: number) => Tensor): Tensor {
  const parts = Array.from({ length: n }, (_, i) => torch.tidy(() => fn(i)));
  const out = torch.cat(parts, 0);
  torch.dispose(parts);
  return out;
}

/**
 * fn(x), image by image in inference (eval mode, batch above 1): for a high-resolution stage such
 * as an encoder's stem, whose activations are the largest.
 */
export function perImageInInference(module: nn.Module, x: Tensor, fn: (t: Tensor) => Tensor): Tensor {
  return module.training || x.shape[0] === 1 ? fn(x) : imageByImage(x.shape[0]!, (i) => fn(x.narrow(0, i, 1)));
}

/**
 * steps[n-1](…steps[0](x)), freeing each intermediate result as soon as the next step has used
 * it (x itself is left alone; in-place steps that return their input are fine). In inference this
 * keeps one or two activations alive instead of a whole block's; autograd keeps what it needs.
 */
export function pipe(x: Tensor, ...steps: ((t: Tensor) => Tensor)[]): Tensor {
  let y = x;
  for (const step of steps) {
    const next = step(y);
    if (y !== x && next !== y) y.dispose();
    y = next;
  }
  return y;
}

/**
 * The auxiliary FCN head on the stride-16 (deepest-but-one) features that PSPNet, CCNet,
 * Non-local and mmseg's recipes supervise in training: 3×3 conv to 256 + BN + ReLU, dropout, 1×1
 * classifier (names aux.0.0, aux.0.1, aux.2).
 */
export function auxHead(inC: number, classes: number, dropout = 0.1): nn.Sequential {
  return new nn.Sequential(convBnRelu(inC, 256, 3), new nn.Dropout2d(dropout), new nn.Conv2d(256, classes, 1));
}
