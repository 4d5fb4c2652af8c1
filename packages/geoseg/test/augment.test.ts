// Online augmentation: exact pixel positions under flips/rotations (non-square, to catch H/W
// mix-ups), image–mask agreement, mask values under scaling, closed forms of the photometric
// transforms, determinism, and config validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import {
  augment, applyAugmentation, augmentationSchema, describeAugmentation, planAugmentation, hueMatrix,
  type AugmentationInput,
} from '../src/data/augment.js';
import { mulberry32 } from '../src/data/split.js';
import { GeosegError } from '../src/errors.js';

torch.setNumThreads(1);
const cfg = (x: AugmentationInput) => augmentationSchema.parse(x);
/** An rng that returns the given values in order (and fails when they run out). */
const seq = (...values: number[]) => () => {
  if (values.length === 0) throw new Error('rng exhausted');
  return values.shift()!;
};
const maxAbs = (a: Tensor, b: Tensor) => torch.tidy(() => a.to('float64').sub(b.to('float64')).abs().max().item());
const LUMA = [0.299, 0.587, 0.114];
const luma = (img: Tensor) => torch.tidy(() => img.narrow(0, 0, 3).to('float64').mul(torch.tensor(LUMA, { shape: [3, 1, 1], dtype: 'float64' })).sum([0]));
const ONE = { ignoreIndex: 255 };

test('flips, rot90 and transpose move a known pixel to the hand-computed place in image and mask', () => {
  // H = 3, W = 5; the marked pixel is at (y, x) = (0, 1): image [1, 2] over the 2 bands, mask 7.
  const H = 3, W = 5;
  const image = torch.zeros([2, H, W]);
  image.narrow(1, 0, 1).narrow(2, 1, 1).copy_(torch.tensor([1, 2], { shape: [2, 1, 1] }));
  const mask = torch.zeros([H, W], { dtype: 'int64' });
  mask.narrow(0, 0, 1).narrow(1, 1, 1).fill_(7);
  const cases: { name: string; c: AugmentationInput; rng: number[]; shape: [number, number]; at: [number, number] }[] = [
    { name: 'hflip', c: { hflip: { p: 1 } }, rng: [0], shape: [3, 5], at: [0, 3] }, // x → W−1−x
    { name: 'vflip', c: { vflip: { p: 1 } }, rng: [0], shape: [3, 5], at: [2, 1] }, // y → H−1−y
    // rot90 k = 1 (counter-clockwise): (y, x) → (W−1−x, y), shape [W, H]
    { name: 'rot90 k=1', c: { rot90: { p: 1 } }, rng: [0, 0.1], shape: [5, 3], at: [3, 0] },
    // k = 2: (y, x) → (H−1−y, W−1−x)
    { name: 'rot90 k=2', c: { rot90: { p: 1 } }, rng: [0, 0.5], shape: [3, 5], at: [2, 3] },
    // k = 3 (clockwise): (y, x) → (x, H−1−y)
    { name: 'rot90 k=3', c: { rot90: { p: 1 } }, rng: [0, 0.9], shape: [5, 3], at: [1, 2] },
    { name: 'transpose', c: { transpose: { p: 1 } }, rng: [0], shape: [5, 3], at: [1, 0] }, // (y, x) → (x, y)
    // all four in order: hflip (0, 3) → vflip (2, 3) → rot90 k=1 on 3×5: (5−1−3, 2) = (1, 2) → transpose (2, 1)
    { name: 'hflip+vflip+rot90+transpose', c: { hflip: { p: 1 }, vflip: { p: 1 }, rot90: { p: 1 }, transpose: { p: 1 } }, rng: [0, 0, 0, 0.1, 0], shape: [3, 5], at: [2, 1] },
    // p decides: 0.6 ≥ 0.5, not applied
    { name: 'hflip not drawn', c: { hflip: { p: 0.5 } }, rng: [0.6], shape: [3, 5], at: [0, 1] },
  ];
  for (const k of cases) {
    torch.tidy(() => {
      const out = augment(image, mask, cfg(k.c), seq(...k.rng), ONE);
      assert.deepEqual(out.image.shape, [2, ...k.shape], `${k.name}: image shape`);
      assert.deepEqual(out.mask.shape, k.shape, `${k.name}: mask shape`);
      const [ey, ex] = k.at;
      const expected = (v: number) => Array.from({ length: k.shape[0] }, (_, y) => Array.from({ length: k.shape[1] }, (_, x) => (y === ey && x === ex ? v : 0)));
      assert.deepEqual(out.image.toArray(), [expected(1), expected(2)], `${k.name}: image`);
      assert.deepEqual(out.mask.toArray(), expected(7), `${k.name}: mask`);
      assert.equal(out.mask.dtype, 'int64');
    });
  }
  // the inputs are untouched
  assert.equal(image.sum().item(), 3);
  assert.equal(mask.sum().item(), 7);
});

test('geometric transforms keep image and mask aligned (image band 0 = mask values), many seeds', () => {
  const H = 24, W = 40;
  const rng0 = mulberry32(5);
  const values = Array.from({ length: H * W }, () => (rng0() < 0.1 ? 255 : Math.floor(rng0() * 6)));
  const mask = torch.tensor(values, { dtype: 'int64', shape: [H, W] });
  const image = torch.stack([mask.to('float32'), torch.rand([H, W])]);
  for (const p of [1, 0.5]) {
    const c = cfg({ hflip: { p }, vflip: { p }, rot90: { p }, transpose: { p } });
    for (let seed = 0; seed < 40; seed++) {
      torch.tidy(() => {
        const out = augment(image, mask, c, mulberry32(seed), ONE);
        assert.ok(out.image.narrow(0, 0, 1).squeeze(0).equal(out.mask.to('float32')), `seed ${seed} p ${p}: band 0 == mask everywhere`);
      });
    }
  }
});

test('scaling: the mask picks the input pixel nearest to where the image samples (coordinates encoded)', () => {
  // band 0 = row y, band 1 = column x (linear, so bilinear resampling is exact); mask = y·W + x.
  // After any geometric chain, for each labelled output pixel the image tells the continuous source
  // position it sampled and the mask the source pixel it took: they must be ≤ half a pixel apart.
  const H = 24, W = 40;
  const ys = torch.arange(H, { dtype: 'float32' }).view([H, 1]).expand([H, W]);
  const xs = torch.arange(W, { dtype: 'float32' }).view([1, W]).expand([H, W]);
  const image = torch.stack([ys, xs]).contiguous();
  const mask = torch.arange(H * W, { dtype: 'int64' }).view([H, W]);
  const c = cfg({ hflip: { p: 0.5 }, vflip: { p: 0.5 }, rot90: { p: 0.5 }, transpose: { p: 0.5 }, scale: { p: 1, range: [0.5, 2] } });
  let padded = 0, interpolated = 0;
  for (let seed = 0; seed < 60; seed++) {
    torch.tidy(() => {
      const out = augment(image, mask, c, mulberry32(seed), { ignoreIndex: -1 });
      const shape = out.mask.shape.join('x');
      assert.ok(shape === `${H}x${W}` || shape === `${W}x${H}`, `seed ${seed}: shape ${shape}`);
      assert.deepEqual(out.image.shape.slice(1), out.mask.shape);
      const valid = out.mask.ne(-1);
      const sy = out.mask.div(W, { roundingMode: 'floor' }).to('float32'), sx = out.mask.remainder(W).to('float32');
      const dy = out.image.select(0, 0).sub(sy).abs().maskedSelect(valid).max().item();
      const dx = out.image.select(0, 1).sub(sx).abs().maskedSelect(valid).max().item();
      assert.ok(dy <= 0.5 + 1e-4 && dx <= 0.5 + 1e-4, `seed ${seed}: image samples (${dy}, ${dx}) px from the mask's pixel`);
      if (Math.max(dy, dx) > 0.1) interpolated++;
      // where scaling down padded, the mask is ignore and the image 0
      const pad = valid.logicalNot();
      if (pad.any().item()) {
        padded++;
        assert.equal(out.image.abs().sum([0]).maskedSelect(pad).max().item(), 0, `seed ${seed}: padded image is 0`);
      }
    });
  }
  assert.ok(padded > 5 && padded < 55, `some seeds scaled down (padded ${padded})`);
  assert.ok(interpolated > 5, `the image was resampled between pixels (${interpolated})`);
});

test('scaling keeps band 0 = mask inside uniform regions (blocky mask), with image padded by 0', () => {
  // 6×6 blocks, each with its own label (some ignored); image band 0 = mask as floats. Bilinear
  // sampling only mixes pixels lying between the nearest-pixel sources of the neighbours, so an
  // output pixel whose 3×3 neighbourhood has one label must read exactly that label.
  const H = 30, W = 48, B = 6;
  const rng0 = mulberry32(11);
  const labels = Array.from({ length: (H / B) * (W / B) }, (_, i) => (rng0() < 0.15 ? 255 : i));
  const values = Array.from({ length: H * W }, (_, i) => labels[Math.floor(Math.floor(i / W) / B) * (W / B) + Math.floor((i % W) / B)]);
  const mask = torch.tensor(values, { dtype: 'int64', shape: [H, W] });
  const image = torch.stack([mask.to('float32'), torch.ones([H, W])]);
  const c = cfg({ hflip: { p: 0.5 }, vflip: { p: 0.5 }, rot90: { p: 0.5 }, transpose: { p: 0.5 }, scale: { p: 1 } });
  let checked = 0;
  for (let seed = 0; seed < 40; seed++) {
    torch.tidy(() => {
      const out = augment(image, mask, c, mulberry32(seed), ONE);
      const m = out.mask;
      const [h, w] = m.shape;
      const centre = m.narrow(0, 1, h - 2).narrow(1, 1, w - 2);
      let uniform = centre.ne(255);
      for (const oy of [0, 1, 2]) for (const ox of [0, 1, 2]) uniform = uniform.logicalAnd(m.narrow(0, oy, h - 2).narrow(1, ox, w - 2).eq(centre));
      const band0 = out.image.select(0, 0).narrow(0, 1, h - 2).narrow(1, 1, w - 2);
      const n = uniform.sum().item();
      checked += n;
      if (n > 0) assert.ok(band0.sub(centre.to('float32')).abs().maskedSelect(uniform).max().item() <= 1e-4, `seed ${seed}: band 0 == mask in uniform regions`);
      // band 1 (all ones) is 0 exactly where the mask is ignore from padding, else 1
      const ones = out.image.select(0, 1);
      assert.ok(ones.eq(0).logicalOr(ones.sub(1).abs().lt(1e-5)).all().item(), `seed ${seed}: band 1 is 1 or padded 0`);
      assert.ok(m.eq(255).logicalOr(ones.eq(0).logicalNot()).all().item(), `seed ${seed}: padding only where the mask is ignore`);
    });
  }
  assert.ok(checked > 10000, `pixels checked ${checked}`);
});

test('scaling never invents mask values: only input ids plus ignore (nearest, not interpolated)', () => {
  const H = 32, W = 20;
  const ids = [0, 2, 5, 9];
  const rng0 = mulberry32(3);
  const mask = torch.tensor(Array.from({ length: H * W }, () => ids[Math.floor(rng0() * 4)]), { dtype: 'int64', shape: [H, W] });
  const image = torch.rand([3, H, W]);
  const c = cfg({ hflip: { p: 0.5 }, rot90: { p: 0.5 }, scale: { p: 1, range: [0.5, 2] } });
  const seen = new Set<number>();
  for (let seed = 0; seed < 50; seed++) {
    torch.tidy(() => {
      const out = augment(image, mask, c, mulberry32(seed), ONE);
      assert.ok([`${H}x${W}`, `${W}x${H}`].includes(out.mask.shape.join('x')));
      for (const v of out.mask.data() as BigInt64Array) seen.add(Number(v));
    });
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [0, 2, 5, 9, 255], 'input ids and the ignore index from padding');
  // a fixed factor: scale 2 with the crop at the top-left keeps the top-left quarter, each pixel doubled
  torch.tidy(() => {
    const small = torch.tensor([[1, 2], [3, 4]], { dtype: 'int64' });
    const img = small.to('float32').unsqueeze(0);
    const steps = [{ op: 'scale' as const, factor: 2, at: [0, 0] as [number, number] }];
    const up = applyAugmentation(img, small, steps, ONE);
    assert.deepEqual(up.mask.toArray(), [[1, 1], [1, 1]]);
    const big = torch.arange(16, { dtype: 'int64' }).view([4, 4]);
    const down = applyAugmentation(big.to('float32').unsqueeze(0), big, [{ op: 'scale', factor: 0.5, at: [0.99, 0] }], ONE);
    // 4×4 → 2×2 (nearest-exact takes rows/columns 1 and 3), padded at the top (at y = 0.99 → 2 rows above) and right
    assert.deepEqual(down.mask.toArray(), [[255, 255, 255, 255], [255, 255, 255, 255], [5, 7, 255, 255], [13, 15, 255, 255]]);
    // bilinear samples midway between rows/columns 0,1 and 2,3: (0+1+4+5)/4 = 2.5, …
    assert.deepEqual(down.image.squeeze(0).toArray(), [[0, 0, 0, 0], [0, 0, 0, 0], [2.5, 4.5, 0, 0], [10.5, 12.5, 0, 0]]);
  });
});

test('blur: constant stays constant, an interior impulse becomes the separable Gaussian (mass 1), bands separate', () => {
  torch.tidy(() => {
    const c = cfg({ blur: { p: 1, sigma: [0.5, 3] } });
    const flat = torch.full([3, 20, 30], 0.37);
    for (let seed = 0; seed < 5; seed++) {
      const out = augment(flat, torch.zeros([20, 30], { dtype: 'int64' }), c, mulberry32(seed), ONE);
      assert.ok(maxAbs(out.image, flat) < 1e-6, `seed ${seed}: constant image stays constant`);
    }
    // an image smaller than the kernel (σ = 3 → radius 9 > 3 rows)
    const tiny = torch.full([1, 3, 4], 0.5);
    const t = augment(tiny, torch.zeros([3, 4], { dtype: 'int64' }), cfg({ blur: { p: 1, sigma: [3, 3] } }), mulberry32(0), ONE);
    assert.deepEqual(t.image.shape, [1, 3, 4]);
    assert.ok(maxAbs(t.image, tiny) < 1e-6);

    // impulse at (20, 20) of band 1 in a 41×41 image; σ = 2 → radius ceil(6) = 6, kernel 13
    const imp = torch.zeros([2, 41, 41]);
    imp.select(0, 1).select(0, 20).select(0, 20).fill_(1);
    const out = augment(imp, torch.zeros([41, 41], { dtype: 'int64' }), cfg({ blur: { p: 1, sigma: [2, 2] } }), mulberry32(0), ONE).image;
    assert.equal(out.select(0, 0).abs().max().item(), 0, 'band 0 untouched by band 1');
    const b1 = out.select(0, 1).to('float64');
    assert.ok(Math.abs(b1.sum().item() - 1) < 1e-5, `mass ${b1.sum().item()}`);
    const taps = Array.from({ length: 13 }, (_, i) => Math.exp(-((i - 6) ** 2) / 8));
    const s = taps.reduce((a, b) => a + b, 0);
    const g = taps.map((v) => v / s);
    const a = b1.toArray() as number[][];
    for (const [dy, dx] of [[0, 0], [1, 0], [0, 3], [-2, 5], [6, 6], [-6, 0]]) {
      assert.ok(Math.abs(a[20 + dy][20 + dx] - g[dy + 6] * g[dx + 6]) < 1e-6, `(${dy}, ${dx}): ${a[20 + dy][20 + dx]} vs ${g[dy + 6] * g[dx + 6]}`);
    }
    assert.equal(a[20][27], 0, 'nothing past the kernel radius');
    assert.equal(a[13][20], 0);

    // reflect padding (mirror without repeating the edge): a bright first column, constant down
    // the rows, blurs to exactly the taps t0, t1, … (replicate padding would give t0 + t1 + … at x = 0)
    const edge = torch.zeros([1, 12, 16]);
    edge.select(2, 0).fill_(1);
    const e = applyAugmentation(edge, torch.zeros([12, 16], { dtype: 'int64' }), [{ op: 'blur', sigma: 1 }], ONE).image;
    const t3 = [0, 1, 2, 3].map((i) => Math.exp(-(i * i) / 2));
    const z = t3[0] + 2 * (t3[1] + t3[2] + t3[3]);
    const row = (e.select(0, 0).select(0, 6).toArray() as number[]);
    for (let x = 0; x < 16; x++) assert.ok(Math.abs(row[x] - (x <= 3 ? t3[x] / z : 0)) < 1e-6, `x = ${x}: ${row[x]}`);
  });
});

test('noise: measured std matches the drawn std within 5 %, zero mean; image only', () => {
  torch.tidy(() => {
    const c = cfg({ noise: { p: 1, std: [0.05, 0.2] } });
    for (let seed = 0; seed < 3; seed++) {
      const planned = planAugmentation(c, mulberry32(seed));
      assert.equal(planned.length, 1);
      const std = (planned[0] as { std: number }).std;
      const image = torch.full([3, 128, 128], 0.5);
      const mask = torch.ones([128, 128], { dtype: 'int64' });
      torch.manualSeed(seed);
      const out = augment(image, mask, c, mulberry32(seed), ONE);
      const d = out.image.sub(0.5).to('float64');
      const measured = d.std().item();
      assert.ok(Math.abs(measured / std - 1) < 0.05, `seed ${seed}: std ${measured} vs ${std}`);
      assert.ok(Math.abs(d.mean().item()) < 0.01 * std + 3 * std / Math.sqrt(3 * 128 * 128), `mean ${d.mean().item()}`);
      assert.ok(out.mask.equal(mask), 'mask untouched');
    }
  });
});

test('brightness, contrast, gamma: closed forms on constant images; contrast about the band mean', () => {
  torch.tidy(() => {
    const bands = [0.2, 0.5, 0.9];
    const image = torch.tensor(bands, { shape: [3, 1, 1] }).expand([3, 8, 12]).contiguous();
    const mask = torch.zeros([8, 12], { dtype: 'int64' });
    const c = cfg({ brightness: { p: 1, range: [-0.3, 0.3] }, contrast: { p: 1, range: [0.5, 1.5] }, gamma: { p: 1, range: [0.5, 2] } });
    for (let seed = 0; seed < 8; seed++) {
      const plan = planAugmentation(c, mulberry32(seed));
      const [b, ct, g] = plan as [{ op: 'brightness'; delta: number }, { op: 'contrast'; factor: number }, { op: 'gamma'; gamma: number }];
      assert.deepEqual(plan.map((s) => s.op), ['brightness', 'contrast', 'gamma']);
      assert.ok(b.delta >= -0.3 && b.delta <= 0.3 && ct.factor >= 0.5 && ct.factor <= 1.5 && g.gamma >= 0.5 && g.gamma <= 2);
      const out = augment(image, mask, c, mulberry32(seed), ONE).image;
      // contrast leaves a constant band alone; gamma clamps to [0, 1] first
      const expected = bands.map((v) => Math.min(1, Math.max(0, v + b.delta)) ** g.gamma);
      const want = torch.tensor(expected, { shape: [3, 1, 1] }).expand([3, 8, 12]);
      assert.ok(maxAbs(out, want) < 1e-6, `seed ${seed}: ${out.mean([1, 2]).toArray()} vs ${expected}`);
    }
    // brightness alone: no clamping
    const up = applyAugmentation(image, mask, [{ op: 'brightness', delta: 0.25 }], ONE).image;
    assert.ok(maxAbs(up, image.add(0.25)) < 1e-7);
    assert.ok(up.max().item() > 1.1, 'values past 1 are kept');
    // contrast on a two-valued band: mean 0.4, factor 1.5 → 0.4 ± 0.3
    const two = torch.tensor([0.2, 0.6, 0.2, 0.6], { shape: [1, 2, 2] });
    const ctr = applyAugmentation(two, torch.zeros([2, 2], { dtype: 'int64' }), [{ op: 'contrast', factor: 1.5 }], ONE).image;
    assert.ok(maxAbs(ctr, torch.tensor([0.1, 0.7, 0.1, 0.7], { shape: [1, 2, 2] })) < 1e-6);
    // gamma clamps: 1.3 → 1, −0.2 → 0, 0.25^2 = 0.0625
    const gm = applyAugmentation(torch.tensor([1.3, -0.2, 0.25], { shape: [3, 1, 1] }), torch.zeros([1, 1], { dtype: 'int64' }), [{ op: 'gamma', gamma: 2 }], ONE).image;
    assert.ok(maxAbs(gm, torch.tensor([1, 0, 0.0625], { shape: [3, 1, 1] })) < 1e-7);
  });
});

test('saturation: 0 gives grey (= luminance), 1 is the identity, s blends; other bands untouched', () => {
  torch.tidy(() => {
    torch.manualSeed(0);
    const image = torch.rand([4, 10, 14]);
    const mask = torch.zeros([10, 14], { dtype: 'int64' });
    const y = luma(image);
    const grey = augment(image, mask, cfg({ saturation: { p: 1, range: [0, 0] } }), mulberry32(0), ONE).image;
    for (const b of [0, 1, 2]) assert.ok(maxAbs(grey.select(0, b), y) < 1e-6, `band ${b} = Y`);
    assert.ok(grey.select(0, 3).equal(image.select(0, 3)), 'band 4 untouched');
    const same = augment(image, mask, cfg({ saturation: { p: 1, range: [1, 1] } }), mulberry32(0), ONE).image;
    assert.ok(maxAbs(same, image) < 1e-6);
    const s = 1.7;
    const blended = applyAugmentation(image, mask, [{ op: 'saturation', factor: s }], ONE).image;
    const want = image.narrow(0, 0, 3).to('float64').sub(y).mul(s).add(y);
    assert.ok(maxAbs(blended.narrow(0, 0, 3), want) < 1e-6);
    // fewer than 3 bands: nothing to do
    const two = image.narrow(0, 0, 2);
    assert.ok(applyAugmentation(two, mask, [{ op: 'saturation', factor: 0 }, { op: 'hue', turns: 0.3 }], ONE).image.equal(two));
  });
});

test('hue: rotation by 0 is the identity; any rotation keeps luminance Y and greys; h then −h undoes', () => {
  torch.tidy(() => {
    torch.manualSeed(1);
    const image = torch.rand([4, 9, 13]);
    const mask = torch.zeros([9, 13], { dtype: 'int64' });
    const id = augment(image, mask, cfg({ hue: { p: 1, range: [0, 0] } }), mulberry32(0), ONE).image;
    assert.ok(maxAbs(id, image) < 1e-6, 'hue 0 is the identity');
    hueMatrix(0).forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-12)));
    const y = luma(image);
    const c = cfg({ hue: { p: 1, range: [-0.5, 0.5] } });
    for (let seed = 0; seed < 10; seed++) {
      const [step] = planAugmentation(c, mulberry32(seed)) as [{ op: 'hue'; turns: number }];
      const out = augment(image, mask, c, mulberry32(seed), ONE).image;
      assert.ok(maxAbs(luma(out), y) < 1e-5, `seed ${seed} (${step.turns} turns): Y kept`);
      assert.ok(out.select(0, 3).equal(image.select(0, 3)), 'band 4 untouched');
      if (Math.abs(step.turns) > 0.05) assert.ok(maxAbs(out, image) > 0.01, `seed ${seed}: colours change`);
      const back = applyAugmentation(out, mask, [{ op: 'hue', turns: -step.turns }], ONE).image;
      assert.ok(maxAbs(back, image) < 1e-5, `seed ${seed}: rotating back restores`);
    }
    // a grey image has no hue
    const grey = torch.rand([1, 9, 13]).expand([3, 9, 13]).contiguous();
    assert.ok(maxAbs(applyAugmentation(grey, mask, [{ op: 'hue', turns: 0.37 }], ONE).image, grey) < 1e-6);
  });
});

test('determinism: same rng seed (and torch seed) → identical outputs; different seeds differ', () => {
  const all: AugmentationInput = {
    hflip: { p: 1 }, vflip: { p: 1 }, rot90: { p: 1 }, transpose: { p: 1 }, scale: { p: 1 },
    noise: { p: 1 }, blur: { p: 1 }, brightness: { p: 1 }, contrast: { p: 1 }, gamma: { p: 1 }, hue: { p: 1 }, saturation: { p: 1 },
  };
  const half = cfg(Object.fromEntries(Object.keys(all).map((k) => [k, { p: 0.5 }])));
  const H = 24, W = 32;
  torch.manualSeed(9);
  const image = torch.rand([3, H, W]);
  const mask = torch.randint(0, 5, [H, W], { dtype: 'int64' });
  const run = (c: ReturnType<typeof cfg>, seed: number, torchSeed: number) => {
    torch.manualSeed(torchSeed);
    const out = augment(image, mask, c, mulberry32(seed), ONE);
    return { image: out.image.bytes(), mask: out.mask.bytes(), shape: out.image.shape };
  };
  torch.tidy(() => {
    for (let seed = 0; seed < 10; seed++) {
      assert.deepEqual(run(half, seed, 100 + seed), run(half, seed, 100 + seed), `seed ${seed}`);
      assert.deepEqual(planAugmentation(half, mulberry32(seed)), planAugmentation(half, mulberry32(seed)));
    }
    const full = cfg(all);
    for (let seed = 0; seed < 5; seed++) {
      assert.notDeepEqual(run(full, seed, 1).image, run(full, seed + 1, 1).image, `seeds ${seed}, ${seed + 1} differ`);
    }
    // without noise, the torch seed does not matter; with it, it does
    const { noise: _noise, ...rest } = all;
    assert.deepEqual(run(cfg(rest), 3, 1), run(cfg(rest), 3, 2));
    assert.notDeepEqual(run(full, 3, 1).image, run(full, 3, 2).image);
  });
});

test('outputs are new tensors; p = 0 changes nothing; no tensors leak; bad inputs are errors', () => {
  const image = torch.rand([2, 6, 10]);
  const mask = torch.zeros([6, 10], { dtype: 'int64' });
  const before = torch.memoryStats().liveTensors;
  const out = augment(image, mask, cfg({ hflip: { p: 0 }, scale: { p: 0 }, noise: { p: 0 } }), mulberry32(1), ONE);
  assert.equal(torch.memoryStats().liveTensors, before + 2, 'only the two results survive');
  assert.ok(out.image !== image && out.mask !== mask);
  assert.ok(out.image.equal(image) && out.mask.equal(mask));
  out.image.dispose();
  out.mask.dispose();
  const full = augment(image, mask, cfg({ hflip: { p: 1 }, scale: { p: 1 }, blur: { p: 1 }, hue: { p: 1 }, noise: { p: 1 } }), mulberry32(1), ONE);
  assert.equal(torch.memoryStats().liveTensors, before + 2);
  torch.dispose(full);
  assert.throws(() => augment(image, torch.zeros([6, 9], { dtype: 'int64' }), {}, mulberry32(0), ONE), (e: unknown) => e instanceof GeosegError && /does not match the image/.test(e.message));
  assert.throws(() => augment(image.select(0, 0), mask, {}, mulberry32(0), ONE), /expected an image \[C, H, W\]/);
  assert.throws(() => augment(image.to('uint8'), mask, {}, mulberry32(0), ONE), /floating point/);
  assert.throws(() => augment(image, mask.to('float32'), {}, mulberry32(0), ONE), /integer class ids/);
});

test('config: defaults, and zod errors that name the field', () => {
  assert.deepEqual(cfg({}), {});
  assert.deepEqual(cfg({ hflip: {}, scale: { p: 1 }, noise: { std: [0.01, 0.03] } }), { hflip: { p: 0.5 }, scale: { p: 1, range: [0.5, 2] }, noise: { p: 0.5, std: [0.01, 0.03] } });
  const bad: [unknown, (string | number)[], RegExp][] = [
    [{ hflip: { p: 1.5 } }, ['hflip', 'p'], /a probability in \[0, 1\]/],
    [{ rot90: { p: -0.1 } }, ['rot90', 'p'], /a probability in \[0, 1\]/],
    [{ vflip: { p: 'often' } }, ['vflip', 'p'], /Expected number, received string/],
    [{ scale: { range: [2, 1] } }, ['scale', 'range'], /lo ≤ hi/],
    [{ scale: { range: [0, 1] } }, ['scale', 'range', 0], /> 0/],
    [{ noise: { std: [-0.1, 0.1] } }, ['noise', 'std', 0], /≥ 0/],
    [{ noise: { std: [0.1] } }, ['noise', 'std'], /at least 2/],
    [{ blur: { sigma: [0, 1] } }, ['blur', 'sigma', 0], /> 0/],
    [{ hue: { range: [-0.7, 0.1] } }, ['hue', 'range', 0], /-0\.5, 0\.5/],
    [{ gamma: { range: [0, 2] } }, ['gamma', 'range', 0], /> 0/],
    [{ hflip: { p: 0.5, q: 1 } }, ['hflip'], /Unrecognized key.*'q'/],
    [{ hfilp: { p: 0.5 } }, [], /Unrecognized key.*'hfilp'/],
  ];
  for (const [doc, path, message] of bad) {
    const r = augmentationSchema.safeParse(doc);
    assert.ok(!r.success, `${JSON.stringify(doc)} is rejected`);
    const issue = r.error.issues[0];
    assert.deepEqual(issue.path, path, JSON.stringify(doc));
    assert.match(issue.message, message, JSON.stringify(doc));
    if (path.length) assert.match(r.error.message, new RegExp(`"${path[0]}"`), 'the error names the field');
  }
});

test('describeAugmentation: one line', () => {
  assert.equal(describeAugmentation(cfg({})), 'none');
  assert.equal(
    describeAugmentation(cfg({ hflip: { p: 0.5 }, rot90: {}, vflip: { p: 0 }, scale: { p: 0.3 }, noise: { p: 0.3, std: [0.01, 0.03] }, hue: { p: 0.2, range: [-0.1, 0.1] } })),
    'hflip p=0.5, rot90 p=0.5, scale p=0.3 ×0.5–2, hue p=0.2 -0.1–0.1 turns, noise p=0.3 std 0.01–0.03',
  );
  assert.ok(!describeAugmentation(cfg({ blur: { p: 1, sigma: [1, 1] } })).includes('\n'));
  assert.equal(describeAugmentation(cfg({ blur: { p: 1, sigma: [1, 1] } })), 'blur p=1 σ 1 px');
});
