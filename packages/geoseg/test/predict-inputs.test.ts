// geoseg predict on awkward inputs: NaN pixels are nodata (predict, and evaluation's rule on the
// shared blender), absurd parameters are refused up front with the reason, an existing
// output is replaced only with --overwrite.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { writeCog } from '../src/raster/index.js';
import { predict, windowStarts } from '../src/infer/predict.js';
import { blendRows } from '../src/infer/stream-blend.js';
import { windowGrid } from '../src/infer/window-grid.js';
import { checkPlan } from '../src/infer/limits.js';
import { loadCheckpoint } from '../src/models/checkpoint.js';
import { randomCheckpoint } from './helpers/random-checkpoint.js';
import { spawnAll } from './helpers/spawn-all.js';
import { readBands as readAll } from './helpers/read-raster.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = process.env.GEOSEG_CLI ?? join(here, '..', 'dist', 'cli', 'main.js');
let dir = '';
let checkpoint = '';
const [W, H, S] = [256, 192, 64];
// The NaN block, and pixels no window touching it reaches (one window away in both axes).
const block = { x: 100, y: 70, w: 40, h: 30 };
const inBlock = (x: number, y: number) => x >= block.x && x < block.x + block.w && y >= block.y && y < block.y + block.h;
const far = (x: number, y: number) => x < block.x - S || x >= block.x + block.w + S || y < block.y - S || y >= block.y + block.h + S;

/** A float32 scene in the model's value range; NaN over the block with `nan`, declared nodata NaN with `declare`. */
async function floatScene(path: string, { nan = false, declare = false } = {}): Promise<void> {
  await torch.tidy(async () => {
    torch.manualSeed(9);
    const img = torch.rand([3, H, W]).mul(255);
    if (nan) img.narrow(1, block.y, block.h).narrow(2, block.x, block.w).fill_(NaN);
    await writeCog(path, img, { geoTransform: [500000, 0.5, 0, 2800000, 0, -0.5], crs: 'EPSG:32640', nodata: declare ? NaN : null, overwrite: true });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-predict-inputs-'));
  checkpoint = randomCheckpoint(dir);
});

test('NaN pixels of a float32 scene without declared nodata come out as nodata; pixels far from them are as without NaN', async () => {
  await floatScene(join(dir, 'clean.tif'));
  await floatScene(join(dir, 'nan.tif'), { nan: true });
  await floatScene(join(dir, 'nan-declared.tif'), { nan: true, declare: true });
  const run = (name: string) => predict({ checkpoint, input: join(dir, `${name}.tif`), output: join(dir, `${name}-out.tif`), confidence: join(dir, `${name}-conf.tif`), probabilities: join(dir, `${name}-prob.tif`), window: S, overlap: 0.25, batch: 2 });
  const clean = await run('clean');
  const nan = await run('nan');
  await run('nan-declared');
  const [cls] = readAll(join(dir, 'nan-out.tif')), [conf] = readAll(join(dir, 'nan-conf.tif')), probs = readAll(join(dir, 'nan-prob.tif'));
  const [cls0] = readAll(join(dir, 'clean-out.tif')), probs0 = readAll(join(dir, 'clean-prob.tif'));
  let farPixels = 0, wrongNear = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = y * W + x;
    if (inBlock(x, y)) {
      assert.equal(cls[i], 255, `class at ${x},${y} in the NaN block`);
      assert.equal(conf[i], 0, `confidence at ${x},${y} in the NaN block`);
    } else {
      assert.notEqual(cls[i], 255, `class at ${x},${y} outside the NaN block`);
      if (far(x, y)) {
        farPixels++;
        assert.equal(cls[i], cls0[i], `class at ${x},${y}, far from the NaN block`);
        probs.forEach((band, k) => assert.equal(band[i], probs0[k][i], `probability ${k} at ${x},${y}`));
      } else if (cls[i] !== cls0[i]) wrongNear++;
    }
  }
  assert.ok(farPixels > W * H / 3, `${farPixels} far pixels compared`);
  assert.ok(wrongNear < (W * H) / 10, `${wrongNear} pixels near the block changed class`);
  const ds = gdal.open(join(dir, 'nan-out.tif'));
  assert.equal(ds.bands.get(1).noDataValue, 255, 'the class raster declares nodata 255');
  ds.close();
  assert.equal(nan.classes.reduce((a, c) => a + c.pixels, 0), W * H - block.w * block.h, 'class areas leave nodata out');
  assert.equal(clean.classes.reduce((a, c) => a + c.pixels, 0), W * H);
  // a declared NaN nodata gives the same result
  assert.deepEqual(readAll(join(dir, 'nan-declared-out.tif')), [cls]);
});

test('evaluation\'s rule on the shared blender (no declared nodata, NaN nodata): NaN pixels come out as nodata, far pixels as without NaN', async () => {
  const { model } = loadCheckpoint(checkpoint);
  model.eval();
  torch.manualSeed(9);
  const clean = torch.randn([3, H, W]).keep();
  const nan = clean.clone().keep();
  nan.narrow(1, block.y, block.h).narrow(2, block.x, block.w).select(0, 1).fill_(NaN); // one band is enough
  /** The classes and nodata mask of `image` (read window by window from memory), all rows. */
  const blend = async (image: Tensor) => {
    const classes = torch.zeros([H, W], { dtype: 'uint8' }).keep(), nodata = torch.zeros([H, W], { dtype: 'bool' }).keep();
    const rows = blendRows(model, {
      grid: windowGrid(W, H, S, 0.25), classes: 3, norm: { mean: [0, 0, 0], std: [1, 1, 1] }, nodata: { value: null, nonFinite: true },
      window: S, overlap: 0.25, batch: 2, blend: 'hann', tta: 'none',
      read: async (x, y, w, h) => image.narrow(1, y, h).narrow(2, x, w).clone(),
    });
    for await (const band of rows) {
      classes.narrow(0, band.y0, band.y1 - band.y0).copy_(band.classes);
      nodata.narrow(0, band.y0, band.y1 - band.y0).copy_(band.nodata!);
    }
    return { classes, nodata };
  };
  const a = await blend(clean), b = await blend(nan);
  torch.tidy(() => {
    const blockMask = torch.zeros([H, W], { dtype: 'bool' });
    blockMask.narrow(0, block.y, block.h).narrow(1, block.x, block.w).fill_(true);
    assert.ok(b.nodata.eq(blockMask).all().item(), 'nodata exactly over the NaN block');
    assert.ok(!a.nodata.any().item(), 'no nodata without NaN');
    assert.ok(b.classes.eq(255).eq(blockMask).all().item(), 'class 255 exactly over the NaN block');
    const farMask = torch.ones([H, W], { dtype: 'bool' });
    farMask.narrow(0, Math.max(0, block.y - S), Math.min(H, block.y + block.h + S) - Math.max(0, block.y - S))
      .narrow(1, Math.max(0, block.x - S), Math.min(W, block.x + block.w + S) - Math.max(0, block.x - S)).fill_(false);
    assert.ok(farMask.sum().item() > 0);
    assert.ok(a.classes.eq(b.classes).logicalOr(farMask.logicalNot()).all().item(), 'far pixels: the same classes as without NaN');
    assert.ok(a.classes.reshape([-1]).to('int64').bincount(null, 256).narrow(0, 0, 3).gt(0).sum().item() >= 2, 'several classes, so a change shows');
  });
  torch.dispose([clean, nan, a, b]);
  model.dispose();
});

const cliRun = (args: string[]) => spawnSync(process.execPath, [cli, 'predict', ...args], { encoding: 'utf8', timeout: 60_000 });

test('absurd parameters are refused up front: one line saying why, non-zero exit, nothing written', async () => {
  const input = join(dir, 'small.tif');
  await torch.tidy(() => writeCog(input, torch.rand([3, 300, 300]).mul(255).to('uint8'), { overwrite: true }));
  const out = join(dir, 'absurd.tif');
  const base = ['--checkpoint', checkpoint, '--input', input, '--output', out];
  const cases: [string[], RegExp][] = [
    // 0.999 would be 56,169 windows of 64² here: refused at once, not ground through
    [['--window', '64', '--overlap', '0.999'], /^geoseg: --overlap: 0\.999 is more than 0\.9: 56,169 windows of 64² for this 300 × 300 scene, every pixel predicted about 2,556 times$/],
    [['--overlap', '0.95'], /^geoseg: --overlap: 0\.95 is more than 0\.9: /],
    // a window larger than memory
    [['--window', '262144'], /^geoseg: --window: 262144 needs at least [\d.,]+ GB of memory for a 300-pixel-wide scene \(this machine has [\d.,]+ GB\); use a smaller --window$/],
    [['--window', '100'], /^geoseg: --window: must be a multiple of 32 \(e\.g\. 256, 512, 1024\), got '100'$/],
    [['--window', '0'], /^geoseg: --window: must be a positive integer, got '0'$/],
    [['--window=-64'], /^geoseg: --window: must be a positive integer, got '-64'$/],
    [['--window', '64.5'], /^geoseg: --window: must be a positive integer, got '64\.5'$/],
    [['--window', 'big'], /^geoseg: --window: must be a positive integer, got 'big'$/],
    [['--batch', '0'], /^geoseg: --batch: must be a positive integer, got '0'$/],
    [['--batch', '1.5'], /^geoseg: --batch: must be a positive integer, got '1\.5'$/],
    [['--batch', '1e99'], /^geoseg: --batch: must be a positive integer, got '1e99'$/],
    [['--overlap', '1'], /^geoseg: --overlap: must be a fraction in \[0, 1\) \(e\.g\. 0\.25\), got '1'$/],
    [['--overlap=-0.1'], /^geoseg: --overlap: must be a fraction in \[0, 1\)/],
    [['--overlap', 'NaN'], /^geoseg: --overlap: must be a fraction in \[0, 1\)/],
    [['--overlap', ''], /^geoseg: --overlap: must be a fraction in \[0, 1\)/],
    [['--threads', '0'], /^geoseg: --threads: must be a positive integer, got '0'$/],
  ];
  const t0 = performance.now();
  const results = await spawnAll(cases.map(([args]) => [process.execPath, cli, 'predict', ...base, ...args]));
  // every refusal comes at once (four at a time here), not after grinding through windows
  assert.ok(performance.now() - t0 < 60_000, 'answered at once');
  for (const [i, [args, re]] of cases.entries()) {
    const r = results[i];
    assert.notEqual(r.status, 0, `${args.join(' ')}: ${r.stdout}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), re, args.join(' '));
  }
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no work folder left');
});

test('the memory check blames --batch when one window fits, --window when none does', () => {
  const plan = (window: number, batch: number, width = 20000) => ({
    width, height: 20000, window, overlap: 0.25, xs: windowStarts(width, window, 0.25), ys: windowStarts(20000, window, 0.25),
    batch, bands: 3, channels: 6, outputBytes: 1,
  });
  const GB = 2 ** 30;
  checkPlan(plan(512, 4), 8 * GB);
  assert.throws(() => checkPlan(plan(2048, 16), 4 * GB), /^GeosegError: --batch: 16 needs at least [\d.,]+ GB of memory with windows of 2048² \(this machine has 4\.0 GB\); use a smaller --batch$/);
  assert.throws(() => checkPlan(plan(8192, 1), 4 * GB), /^GeosegError: --window: 8192 needs at least/);
  // a batch wider than a window row costs nothing more: it is capped at the row's windows
  checkPlan(plan(512, 10_000, 600), 1 * GB);
});

test('an existing output is replaced only with --overwrite, and stays as it was otherwise', async () => {
  const input = join(dir, 'small.tif');
  const out = join(dir, 'kept.tif');
  const base = ['--checkpoint', checkpoint, '--input', input, '--output', out, '--window', '64'];
  let r = cliRun(base);
  assert.equal(r.status, 0, r.stderr);
  const before = readFileSync(out);
  for (const extra of [[], ['--resume']]) {
    r = cliRun([...base, ...extra]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr, `geoseg: ${out}: already exists (pass --overwrite to replace it)\n`);
    assert.ok(readFileSync(out).equals(before), 'the output is untouched');
  }
  // a side output that exists is refused the same way, before any work
  r = cliRun([...base.slice(0, 5), join(dir, 'other.tif'), '--window', '64', '--confidence', out]);
  assert.equal(r.stderr, `geoseg: ${out}: already exists (pass --overwrite to replace it)\n`);
  assert.ok(!existsSync(join(dir, 'other.tif')));
  r = cliRun([...base, '--overwrite', '--overlap', '0.5']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!readFileSync(out).equals(before), 'replaced with --overwrite');
});
