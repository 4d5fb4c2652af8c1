// Online augmentation of one training crop, in libtorch: an image [C, H, W] (floating point, in
// nominal [0, 1] units) and its mask [H, W] of class ids.
//
// Order (fixed): geometric first, each applied identically to image and mask,
//   hflip → vflip → rot90 → transpose → scale,
// then photometric, on the image only,
//   brightness → contrast → gamma → hue → saturation → blur → noise.
// Each configured transform is applied with its probability `p`; its parameters are drawn
// uniformly from its range. All random decisions come from the JS generator `rng` (one draw for
// the p test, then the parameters, in the order above), made before any tensor work; Gaussian
// noise values are then drawn from libtorch's generator (torch.randn). An augmentation is
// therefore reproducible given both the rng seed and torch.manualSeed (only the noise needs the
// latter).
//
// Masks are only ever moved by index operations (flip, rot90, transpose, row/column selection
// for nearest-neighbour resizing, constant padding with the ignore index), so a mask never holds
// a value that was not in it, except ignoreIndex where scaling down pads. The image is resized
// bilinearly on the same pixel grid (half-pixel centres, align_corners = false): the mask takes,
// for each output pixel, the input pixel whose centre is nearest to the point the image samples.
//
// rot90 (k = 1, 3) and transpose turn a non-square [C, H, W] into [C, W, H]; scale crops or pads
// back to the size it was given. No clamping, except gamma (defined on [0, 1]: it clamps first).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { GeosegError } from '../errors.js';

const probability = z.number().min(0, 'a probability in [0, 1]').max(1, 'a probability in [0, 1]').default(0.5).describe('Probability of applying it to a crop.');

/** A [lo, hi] pair with lo ≤ hi whose entries satisfy `value`. */
function range(value: z.ZodNumber, def: [number, number]) {
  return z.tuple([value, value])
    .refine(([lo, hi]) => lo <= hi, 'a range [lo, hi] with lo ≤ hi')
    .default(def)
    .describe('[lo, hi]: each application draws its parameter uniformly from this range.');
}

const anyNumber = z.number();
const nonNegative = z.number().min(0, 'must be ≥ 0');
const positive = z.number().positive('must be > 0');

const flipLike = z.object({ p: probability }).strict();

export const augmentationSchema = z.object({
  hflip: flipLike.optional().describe('Mirror left–right.'),
  vflip: flipLike.optional().describe('Mirror top–bottom.'),
  rot90: flipLike.optional().describe('Rotate by k·90° counter-clockwise, k uniform in {1, 2, 3}.'),
  transpose: flipLike.optional().describe('Swap rows and columns (mirror about the main diagonal).'),
  scale: z.object({ p: probability, range: range(positive, [0.5, 2.0]) }).strict().optional().describe('Resize by a factor uniform in `range`, then crop (scaled up) or pad (scaled down) back to the input size at a random offset; the image is padded with 0, the mask with ignoreIndex.'),
  noise: z.object({ p: probability, std: range(nonNegative, [0.01, 0.05]) }).strict().optional().describe('Add Gaussian noise N(0, σ²), σ uniform in `std`.'),
  blur: z.object({ p: probability, sigma: range(positive, [0.5, 1.5]) }).strict().optional().describe('Gaussian blur, σ (pixels) uniform in `sigma`; kernel 2·ceil(3σ)+1, reflect padding.'),
  brightness: z.object({ p: probability, range: range(anyNumber, [-0.1, 0.1]) }).strict().optional().describe('Add b, uniform in `range`, to every band.'),
  contrast: z.object({ p: probability, range: range(nonNegative, [0.8, 1.2]) }).strict().optional().describe('Scale by f, uniform in `range`, about each band\'s mean: (x − mean)·f + mean.'),
  gamma: z.object({ p: probability, range: range(positive, [0.8, 1.25]) }).strict().optional().describe('clamp(x, 0, 1)^γ, γ uniform in `range`.'),
  hue: z.object({ p: probability, range: range(z.number().min(-0.5, 'in [-0.5, 0.5] turns').max(0.5, 'in [-0.5, 0.5] turns'), [-0.05, 0.05]) }).strict().optional().describe('Rotate the hue of bands 1–3 (taken as RGB) by h turns (h uniform in `range`, |h| ≤ 0.5) in YIQ space: luminance Y is kept. Images with fewer than 3 bands are left as they are.'),
  saturation: z.object({ p: probability, range: range(nonNegative, [0.8, 1.2]) }).strict().optional().describe('Blend bands 1–3 with their luminance Y: Y + s·(x − Y), s uniform in `range` (0: grey). Images with fewer than 3 bands are left as they are.'),
}).strict();

/** The validated augmentation block (every transform optional; p defaults to 0.5). */
export type AugmentationConfig = z.infer<typeof augmentationSchema>;
/** What a config file may hold before defaults are filled in. */
export type AugmentationInput = z.input<typeof augmentationSchema>;

/** One transform with its drawn parameters. */
export type AugmentationStep =
  | { op: 'hflip' } | { op: 'vflip' } | { op: 'rot90'; k: 1 | 2 | 3 } | { op: 'transpose' }
  /** `at`: where to crop or pad, per axis (y, x), as fractions in [0, 1) of the free span. */
  | { op: 'scale'; factor: number; at: [number, number] }
  | { op: 'brightness'; delta: number } | { op: 'contrast'; factor: number } | { op: 'gamma'; gamma: number }
  | { op: 'hue'; turns: number } | { op: 'saturation'; factor: number }
  | { op: 'blur'; sigma: number } | { op: 'noise'; std: number };

const uniform = (rng: () => number, [lo, hi]: [number, number]) => lo + (hi - lo) * rng();

/** The transforms one augmentation applies, in order, with their parameters (all rng draws). */
export function planAugmentation(cfg: AugmentationConfig, rng: () => number): AugmentationStep[] {
  const steps: AugmentationStep[] = [];
  const hit = (block: { p: number } | undefined): boolean => block !== undefined && rng() < block.p;
  if (hit(cfg.hflip)) steps.push({ op: 'hflip' });
  if (hit(cfg.vflip)) steps.push({ op: 'vflip' });
  if (hit(cfg.rot90)) steps.push({ op: 'rot90', k: (1 + Math.min(2, Math.floor(rng() * 3))) as 1 | 2 | 3 });
  if (hit(cfg.transpose)) steps.push({ op: 'transpose' });
  if (hit(cfg.scale)) steps.push({ op: 'scale', factor: uniform(rng, cfg.scale!.range), at: [rng(), rng()] });
  if (hit(cfg.brightness)) steps.push({ op: 'brightness', delta: uniform(rng, cfg.brightness!.range) });
  if (hit(cfg.contrast)) steps.push({ op: 'contrast', factor: uniform(rng, cfg.contrast!.range) });
  if (hit(cfg.gamma)) steps.push({ op: 'gamma', gamma: uniform(rng, cfg.gamma!.range) });
  if (hit(cfg.hue)) steps.push({ op: 'hue', turns: uniform(rng, cfg.hue!.range) });
  if (hit(cfg.saturation)) steps.push({ op: 'saturation', factor: uniform(rng, cfg.saturation!.range) });
  if (hit(cfg.blur)) steps.push({ op: 'blur', sigma: uniform(rng, cfg.blur!.sigma) });
  if (hit(cfg.noise)) steps.push({ op: 'noise', std: uniform(rng, cfg.noise!.std) });
  return steps;
}

export interface AugmentOptions {
  /** Mask value of unlabelled pixels (fills what scaling down pads). */
  ignoreIndex: number;
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);
const NOT_ID_TYPES = new Set([...FLOAT_TYPES, 'complex64', 'complex128', 'bool']);

/**
 * Augment one image [C, H, W] (floating point, nominal range [0, 1]) and its mask [H, W] (integer
 * class ids) with the transforms `cfg` enables, decided by `rng` (uniform in [0, 1), e.g.
 * mulberry32(seed)). Gaussian noise also draws from libtorch's generator (torch.manualSeed).
 * Returns new tensors; the inputs are not modified.
 */
export function augment(image: Tensor, mask: Tensor, cfg: AugmentationConfig, rng: () => number, opts: AugmentOptions): { image: Tensor; mask: Tensor } {
  return applyAugmentation(image, mask, planAugmentation(cfg, rng), opts);
}

/** Apply planned steps (see planAugmentation) to an image and its mask. */
export function applyAugmentation(image: Tensor, mask: Tensor, steps: AugmentationStep[], opts: AugmentOptions): { image: Tensor; mask: Tensor } {
  if (image.ndim !== 3) throw new GeosegError(`augment: expected an image [C, H, W], got shape [${image.shape.join(', ')}]`);
  if (mask.ndim !== 2 || mask.shape[0] !== image.shape[1] || mask.shape[1] !== image.shape[2]) {
    throw new GeosegError(`augment: the mask [${mask.shape.join(', ')}] does not match the image [${image.shape.join(', ')}] (expected [${image.shape[1]}, ${image.shape[2]}])`);
  }
  if (!FLOAT_TYPES.has(image.dtype)) throw new GeosegError(`augment: the image must be floating point (in [0, 1] units), got ${image.dtype}`);
  if (NOT_ID_TYPES.has(mask.dtype)) throw new GeosegError(`augment: the mask must hold integer class ids, got ${mask.dtype}`);
  return torch.tidy(() => {
    let img = image;
    let msk = mask;
    for (const s of steps) {
      switch (s.op) {
        case 'hflip': img = img.flip([2]); msk = msk.flip([1]); break;
        case 'vflip': img = img.flip([1]); msk = msk.flip([0]); break;
        case 'rot90': img = torch.rot90(img, s.k, [1, 2]); msk = torch.rot90(msk, s.k, [0, 1]); break;
        case 'transpose': img = img.transpose(1, 2); msk = msk.transpose(0, 1); break;
        case 'scale': [img, msk] = rescale(img, msk, s.factor, s.at, opts.ignoreIndex); break;
        case 'brightness': img = img.add(s.delta); break;
        case 'contrast': {
          const mean = img.mean([1, 2], true);
          img = img.sub(mean).mul(s.factor).add(mean);
          break;
        }
        case 'gamma': img = img.clamp(0, 1).pow(s.gamma); break;
        case 'hue': img = onRgb(img, (rgb) => mix3(rgb, hueMatrix(s.turns))); break;
        case 'saturation': img = onRgb(img, (rgb) => {
          const y = rgb.mul(torch.tensor(LUMA, { shape: [3, 1, 1], dtype: rgb.dtype })).sum([0], true);
          return rgb.mul(s.factor).add(y.mul(1 - s.factor));
        }); break;
        case 'blur': img = gaussianBlur(img, s.sigma); break;
        case 'noise': img = img.add(torch.randn(img.shape, { dtype: img.dtype, device: img.device }).mul(s.std)); break;
        default: throw new GeosegError(`augment: unknown step ${JSON.stringify(s)}`);
      }
    }
    return { image: img.contiguous(), mask: msk.contiguous() };
  });
}

/**
 * Nearest-neighbour source indices when resizing n → m samples on half-pixel centres:
 * floor((i + 0.5)·n/m), i.e. PyTorch's 'nearest-exact', which matches bilinear's grid.
 */
function nearestIndices(n: number, m: number, device: Tensor['device']): Tensor {
  return torch.arange(m, { dtype: 'float64', device }).add(0.5).mul(n / m).floor().clamp(0, n - 1).to('int64');
}

/** Resize by `factor` (bilinear image, nearest mask), then crop or pad back to the input size. */
function rescale(img: Tensor, msk: Tensor, factor: number, at: [number, number], ignoreIndex: number): [Tensor, Tensor] {
  const [H, W] = msk.shape;
  const h = Math.max(1, Math.round(H * factor));
  const w = Math.max(1, Math.round(W * factor));
  if (h !== H || w !== W) {
    img = torch.upsampleBilinear2d(img.unsqueeze(0), [h, w], false).squeeze(0);
    msk = msk.indexSelect(0, nearestIndices(H, h, msk.device)).indexSelect(1, nearestIndices(W, w, msk.device));
  }
  // constant_pad_nd pads with positive and crops with negative amounts: [left, right, top, bottom].
  const side = (target: number, size: number, u: number): [number, number] => {
    const free = target - size; // > 0: pad, < 0: crop
    const first = Math.floor(u * (Math.abs(free) + 1)) * Math.sign(free);
    return [first, free - first];
  };
  const [top, bottom] = side(H, h, at[0]);
  const [left, right] = side(W, w, at[1]);
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return [img, msk];
  return [torch.constantPadNd(img, [left, right, top, bottom], 0), torch.constantPadNd(msk, [left, right, top, bottom], ignoreIndex)];
}

/** Rec. 601 luma weights (Y of YIQ / YUV) of R, G, B. */
const LUMA = [0.299, 0.587, 0.114];
/** RGB → YIQ (FCC NTSC); the inverse is computed, so Y survives a hue rotation to rounding. */
const RGB_TO_YIQ = [LUMA, [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]];

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), Cc = d * h - e * g;
  const det = a * A + b * B + c * Cc;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [Cc / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

const matmul3 = (x: number[][], y: number[][]) => x.map((row) => [0, 1, 2].map((j) => row[0] * y[0][j] + row[1] * y[1][j] + row[2] * y[2][j]));

/** The RGB → RGB matrix rotating hue by `turns` (rotation of the I, Q plane about Y). */
export function hueMatrix(turns: number): number[][] {
  const t = 2 * Math.PI * turns;
  const cos = Math.cos(t), sin = Math.sin(t);
  const rotate = [[1, 0, 0], [0, cos, -sin], [0, sin, cos]];
  return matmul3(invert3(RGB_TO_YIQ), matmul3(rotate, RGB_TO_YIQ));
}

/** out[i] = Σ_j m[i][j] · rgb[j] for an [3, H, W] tensor. */
function mix3(rgb: Tensor, m: number[][]): Tensor {
  const [, H, W] = rgb.shape;
  const mt = torch.tensor(m.flat(), { shape: [3, 3], dtype: rgb.dtype, device: rgb.device });
  return mt.matmul(rgb.reshape([3, H * W])).reshape([3, H, W]);
}

/** Apply f to bands 0–2 of an image with at least 3 bands (others pass through). */
function onRgb(img: Tensor, f: (rgb: Tensor) => Tensor): Tensor {
  const C = img.shape[0];
  if (C < 3) return img;
  const rgb = f(img.narrow(0, 0, 3));
  return C === 3 ? rgb : torch.cat([rgb, img.narrow(0, 3, C - 3)], 0);
}

/** Normalized 1-d Gaussian taps of radius r. */
function gaussianTaps(sigma: number, r: number): number[] {
  const taps = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
}

/**
 * Separable Gaussian blur of each band (grouped conv2d), kernel 2·ceil(3σ)+1 (shortened to fit
 * images smaller than it), reflect padding.
 */
function gaussianBlur(img: Tensor, sigma: number): Tensor {
  const [C, H, W] = img.shape;
  const r = Math.ceil(3 * sigma);
  const ry = Math.min(r, H - 1), rx = Math.min(r, W - 1);
  if (ry === 0 && rx === 0) return img;
  const x = torch.pad(img.unsqueeze(0), [rx, rx, ry, ry], 'reflect');
  const kernel = (taps: number[], shape: number[]) => torch.tensor(taps, { dtype: img.dtype, device: img.device }).view(shape).expand([C, 1, ...shape.slice(2)]).contiguous();
  const ky = kernel(gaussianTaps(sigma, ry), [1, 1, 2 * ry + 1, 1]);
  const kx = kernel(gaussianTaps(sigma, rx), [1, 1, 1, 2 * rx + 1]);
  return torch.conv2d(torch.conv2d(x, ky, null, 1, 0, 1, C), kx, null, 1, 0, 1, C).squeeze(0);
}

/** A one-line summary, e.g. "hflip p=0.5, rot90 p=0.5, noise p=0.3 std 0.01–0.03" ("none"). */
export function describeAugmentation(cfg: AugmentationConfig): string {
  const r = ([lo, hi]: [number, number]) => (lo === hi ? `${lo}` : `${lo}–${hi}`);
  const parts: string[] = [];
  const add = (name: string, block: { p: number } | undefined, extra = '') => {
    if (block && block.p > 0) parts.push(`${name} p=${block.p}${extra}`);
  };
  add('hflip', cfg.hflip);
  add('vflip', cfg.vflip);
  add('rot90', cfg.rot90);
  add('transpose', cfg.transpose);
  add('scale', cfg.scale, cfg.scale && ` ×${r(cfg.scale.range)}`);
  add('brightness', cfg.brightness, cfg.brightness && ` ${r(cfg.brightness.range)}`);
  add('contrast', cfg.contrast, cfg.contrast && ` ×${r(cfg.contrast.range)}`);
  add('gamma', cfg.gamma, cfg.gamma && ` ${r(cfg.gamma.range)}`);
  add('hue', cfg.hue, cfg.hue && ` ${r(cfg.hue.range)} turns`);
  add('saturation', cfg.saturation, cfg.saturation && ` ×${r(cfg.saturation.range)}`);
  add('blur', cfg.blur, cfg.blur && ` σ ${r(cfg.blur.sigma)} px`);
  add('noise', cfg.noise, cfg.noise && ` std ${r(cfg.noise.std)}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
