// nn.init: in-place initializers with PyTorch's formulas (fan computation, gains).
import { noGrad } from '../autograd.js';
import type { Tensor } from '../tensor.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
  }
}

/** fan_in and fan_out of a weight [out, in, ...kernel] (PyTorch's convention). */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`nn.init: fan in and fan out need at least 2 dimensions, got shape [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

let zeroFill = 0;

/**
 * Runs `fn` with uniform_ and normal_ (and so every kaiming/xavier init and the layers' default
 * ones) filling zeros instead of drawing: a model whose values do not matter (its parameter or
 * FLOP count) builds several times faster, and the random generator is not advanced.
 */
export function withoutRandomInit<T>(fn: () => T): T {
  zeroFill++;
  try {
    return fn();
  } finally {
    zeroFill--;
  }
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => (zeroFill > 0 ? t.zero_() : t.uniform_(a, b)));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => (zeroFill > 0 ? t.zero_() : t.normal_(mean, std)));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

export function kaimingUniform_(t: Tensor, { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' }: KaimingOptions = {}): Tensor {
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fans(t)[mode]);
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound);
}

export function kaimingNormal_(t: Tensor, { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' }: KaimingOptions = {}): Tensor {
  return normal_(t, 0, calculateGain(nonlinearity, a) / Math.sqrt(fans(t)[mode]));
}

export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}
