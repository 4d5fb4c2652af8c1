// geoseg predict: streamed windows, blending, TTA, georeference and nodata, resume,
// post-processing, polygons, errors.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { writeCog } from '../src/raster/index.js';
import { readTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { predict } from '../src/infer/predict.js';
import { windowStarts } from '../src/infer/window-grid.js';
import { channelsLast, createModel, useChannelsLast } from '../src/models/index.js';
import { Raster } from '../src/raster/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/models/checkpoint.js';
import { postprocess } from '../src/infer/postprocess.js';
import { vectorize } from '../src/infer/vectorize.js';
import { predictWindows } from '../src/infer/window-predict.js';
import { TTA_TRANSFORMS } from '../src/infer/tta.js';
import type { SegmentationModel } from '../src/models/index.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { spawnAll } from './helpers/spawn-all.js';
import { readBand } from './helpers/read-raster.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
let dir = '';
let run = '';
const GT = [500000, 0.5, 0, 2800000, 0, -0.5];

/** A scene like the tiny dataset's: red class 0 left of a diagonal, blue class 1 right of it. */
async function scene(path: string, width: number, height: number, opts: { nodataBlock?: boolean } = {}): Promise<void> {
  await torch.tidy(async () => {
    torch.manualSeed(5);
    const yy = torch.arange(0, height).unsqueeze(1).expand([height, width]);
    const xx = torch.arange(0, width).unsqueeze(0).expand([height, width]);
    const c = xx.add(yy.mul(0.6)).gt(width * 0.6).to('float32').unsqueeze(0);
    const red = torch.tensor([200, 40, 40], { shape: [3, 1, 1] });
    const blue = torch.tensor([40, 60, 200], { shape: [3, 1, 1] });
    const img = red.mul(c.neg().add(1)).add(blue.mul(c)).add(torch.randn([3, height, width]).mul(20)).clamp(1, 255).to('uint8');
    if (opts.nodataBlock) img.narrow(1, 0, 40).narrow(2, 0, 50).fill_(0);
    await writeCog(path, img, { geoTransform: GT, crs: 'EPSG:32640', nodata: opts.nodataBlock ? 0 : null, overwrite: true });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'geoseg-predict-'));
  const ds = await tinyDataset(dir);
  run = join(dir, 'run');
  writeFileSync(join(dir, 'run.yaml'), `out: ${run}
data: { dataset: ${ds}, crop: 64, batch: 4 }
model: { arch: unet, encoder: resnet18, decoderChannels: [64, 32, 32, 16, 16] }
optimizer: { name: adam, lr: 0.002 }
augmentation: { hflip: { p: 0.5 }, rot90: { p: 0.5 } }
train: { iterations: 40, seed: 3 }
eval: { window: 128 }
`);
  await train(readTrainConfig(join(dir, 'run.yaml')));
});

test('a scene that fits one window: overlapping hann windows agree with the single window on > 99.5% of pixels; georeference kept', async () => {
  const input = join(dir, 's.tif');
  await scene(input, 256, 256);
  const one = await predict({ checkpoint: run, input, output: join(dir, 'one.tif'), window: 256, overlap: 0, blend: 'uniform', confidence: join(dir, 'conf.tif') });
  assert.equal(one.windows, 1);
  const many = await predict({ checkpoint: run, input, output: join(dir, 'many.tif'), window: 128, overlap: 0.5, blend: 'hann' });
  assert.equal(many.windows, 9);
  const a = readBand(join(dir, 'one.tif')), b = readBand(join(dir, 'many.tif'));
  let differ = 0;
  a.forEach((v, i) => { if (v !== b[i]) differ++; });
  assert.ok(differ / a.length < 0.005, `${differ} of ${a.length} pixels differ`);
  // the model learnt the colours: most pixels right
  assert.ok(many.classes[0].pixels > 0 && many.classes[1].pixels > 0);
  // georeference, size, colour table, COG layout
  const inDs = gdal.open(input), outDs = gdal.open(join(dir, 'many.tif'));
  assert.deepEqual(outDs.geoTransform, inDs.geoTransform);
  assert.equal(outDs.srs!.getAuthorityCode(null), '32640');
  assert.deepEqual([outDs.rasterSize.x, outDs.rasterSize.y], [256, 256]);
  const ct = outDs.bands.get(1).colorTable!;
  assert.deepEqual([ct.get(0).c1, ct.get(0).c2, ct.get(0).c3], [200, 40, 40]);
  assert.equal(outDs.getMetadata('IMAGE_STRUCTURE').LAYOUT, 'COG');
  inDs.close();
  outDs.close();
  assert.equal(many.classes[0].area, many.classes[0].pixels * 0.25, 'areas in CRS units (0.5 m pixels)');
  // confidence of the single window (uniform weights: no blending arithmetic): round(255 · max
  // softmax) of the model's forward on the normalized scene, laid out as predict runs it (channels-last)
  const conf = readBand(join(dir, 'conf.tif'));
  const { model, meta } = loadCheckpoint(run);
  model.eval();
  useChannelsLast(model);
  const expected = await torch.tidy(async () => {
    const raster = await Raster.open(input);
    const raw = await raster.read({ x: 0, y: 0, width: 256, height: 256 });
    raster.close();
    const { mean, std } = meta.normalization;
    const x = raw.to('float32').sub(torch.tensor(mean, { shape: [3, 1, 1] })).div(torch.tensor(std.map((v) => Math.max(v, 1e-6)), { shape: [3, 1, 1] }));
    const logits = torch.inferenceMode(() => model.forwardOutputs(channelsLast(x.unsqueeze(0))).out);
    return Uint8Array.from(logits.softmax(1).amax(1).mul(255).round().to('uint8').reshape([-1]).data() as Uint8Array);
  });
  model.dispose();
  let confDiffer = 0;
  conf.forEach((v, i) => { if (v !== expected[i]) confDiffer++; });
  assert.equal(confDiffer, 0, `${confDiffer} confidence pixels differ from round(255 · max softmax)`);
  assert.ok(Math.min(...expected) < 250, 'the model is unsure somewhere, so a wrong confidence shows');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no work folders or temporary files left');
});

test('input nodata stays nodata; a scene smaller than a window is padded', async () => {
  const input = join(dir, 'nd.tif');
  await scene(input, 100, 90, { nodataBlock: true });
  const s = await predict({ checkpoint: run, input, output: join(dir, 'nd-out.tif'), window: 128, overwrite: true });
  const out = readBand(join(dir, 'nd-out.tif'));
  assert.equal(out.length, 100 * 90);
  for (let y = 0; y < 90; y++) for (let x = 0; x < 100; x++) {
    const inBlock = y < 40 && x < 50;
    assert.equal(out[y * 100 + x] === 255, inBlock, `pixel ${x},${y}`);
  }
  const ds = gdal.open(join(dir, 'nd-out.tif'));
  assert.equal(ds.bands.get(1).noDataValue, 255);
  ds.close();
  assert.equal(s.classes[0].pixels + s.classes[1].pixels, 100 * 90 - 40 * 50);
});

test('window starts: the tiler\'s count, evenly spread, first at 0 and last at the border', () => {
  assert.deepEqual(windowStarts(512, 512, 0.25), [0]);
  assert.deepEqual(windowStarts(300, 512, 0.25), [0]);
  assert.deepEqual(windowStarts(1536, 512, 0.25), [0, 341, 683, 1024], 'tiler: 0, 384, 768, 1024');
  const s = windowStarts(16384, 512, 0.25);
  assert.equal(s.length, 43);
  assert.equal(s[0], 0);
  assert.equal(s.at(-1), 16384 - 512);
  const gaps = s.slice(1).map((v, i) => v - s[i]);
  assert.ok(Math.max(...gaps) <= 384 && Math.min(...gaps) >= 377, `strides ${Math.min(...gaps)}–${Math.max(...gaps)}: overlap at least 128 rows, at most 135`);
});

test('streamed blocks and carried rows give the full-scene blend: probabilities within 1/255, nodata kept; --map', async () => {
  // random weights: probabilities that vary from window to window, so a lost or doubled
  // contribution in an overlap shows
  torch.manualSeed(11);
  const config = { arch: 'unet', encoder: 'resnet18', classes: 3, inChannels: 3, decoderChannels: [32, 16, 16, 8, 8] };
  const random = join(dir, 'random');
  const m = createModel(config);
  // a fresh head gives nearly uniform probabilities: scale it up so they vary
  torch.noGrad(() => { for (const [name, t] of Object.entries(m.stateDict())) if (name.startsWith('head.')) t.mul_(100); });
  const mean = [120, 80, 100], std = [60, 40, 50];
  saveCheckpoint(random, m, null, {
    step: 0, elapsedSeconds: 0, model: config, classes: ['a', 'b', 'c'].map((name, id) => ({ id, name, color: [id * 80, 90, 200 - id * 60] as [number, number, number] })),
    ignoreIndex: 255, bands: 3, dtype: 'uint8', normalization: { mean, std, scale: [255, 255, 255] },
    config: null, scheduler: null, best: null, lastEval: null,
  });
  m.dispose();
  const input = join(dir, 'blocks.tif');
  const [W, H, S] = [300, 200, 64];
  await scene(input, W, H, { nodataBlock: true });
  const got = await predict({ checkpoint: random, input, output: join(dir, 'blocks-out.tif'), window: S, overlap: 0.25, batch: 2, probabilities: join(dir, 'blocks-prob.tif'), map: true, overwrite: true });
  // map.json for geoseg serve: layers relative to its folder
  const manifest = JSON.parse(readFileSync(join(dir, 'map.json'), 'utf8'));
  assert.equal(got.map, join(dir, 'map.json'));
  assert.deepEqual(manifest.layers, { image: 'blocks.tif', prediction: 'blocks-out.tif', truth: null, confidence: null });
  assert.deepEqual(manifest.classes.map((c: { name: string }) => c.name), ['a', 'b', 'c']);
  const xs = windowStarts(W, S, 0.25), ys = windowStarts(H, S, 0.25);
  assert.equal(got.windows, xs.length * ys.length);
  assert.ok(xs.length >= 5 && ys.length >= 4, 'several batches per window row, several rows');

  // The reference, written here with plain tensor code: every window predicted alone by the
  // model's forward and a softmax, weighted by a hann window sin²(π(i + ½)/S) (floored at 1e-3)
  // and summed into full-scene buffers.
  const { model } = loadCheckpoint(random);
  model.eval();
  const raster = await Raster.open(input);
  const sums = torch.zeros([3, H, W]).keep(), total = torch.zeros([H, W]).keep();
  const hann = Float32Array.from({ length: S }, (_, i) => Math.max(Math.sin((Math.PI * (i + 0.5)) / S) ** 2, 1e-3));
  const w2d = torch.tidy(() => torch.tensor(hann).unsqueeze(1).mul(torch.tensor(hann).unsqueeze(0)).keep());
  const meanT = torch.tensor(mean, { shape: [3, 1, 1] }).keep(), stdT = torch.tensor(std, { shape: [3, 1, 1] }).keep();
  for (const y of ys) {
    for (const x of xs) {
      const raw = await raster.read({ x, y, width: S, height: S });
      torch.inferenceMode(() => torch.tidy(() => {
        const img = raw.to('float32').sub(meanT).div(stdT).maskedFill_(raw.eq(0).all(0, true), 0);
        const p = model.forwardOutputs(img.unsqueeze(0)).out.softmax(1).select(0, 0);
        sums.narrow(1, y, S).narrow(2, x, S).addcmul_(p, w2d);
        total.narrow(0, y, S).narrow(1, x, S).add_(w2d);
      }));
      raw.dispose();
    }
  }
  raster.close();
  const expected = torch.tidy(() => sums.div(total).mul(255).round().to('int32').keep());
  const probs = torch.stack([1, 2, 3].map((b) => torch.tensor(readBand(join(dir, 'blocks-prob.tif'), b), { shape: [H, W] }).to('int32')));
  const valid = torch.ones([H, W], { dtype: 'bool' });
  valid.narrow(0, 0, 40).narrow(1, 0, 50).fill_(false);
  const diff = probs.sub(expected).abs().amax(0).maskedSelect(valid);
  assert.ok(diff.max().item() <= 1, `probabilities differ by up to ${diff.max().item()}/255`);
  const spread = expected.amax([1, 2]).sub(expected.amin([1, 2])).max().item();
  assert.ok(spread > 20, `the reference varies across the scene (${spread}/255), so the comparison can fail`);
  const classes = readBand(join(dir, 'blocks-out.tif'));
  for (let y = 0; y < H; y += 7) for (let x = 0; x < W; x += 5) assert.equal(classes[y * W + x] === 255, y < 40 && x < 50, `nodata at ${x},${y}`);
  // classes: the reference's argmax wherever its two best classes are not within float noise
  const [top2] = sums.div(total).topk(2, 0);
  const clear = top2.select(0, 0).sub(top2.select(0, 1)).gt(1e-4).logicalAnd(valid);
  const refClasses = sums.argmax(0).to('uint8');
  const gotClasses = torch.tensor(classes, { shape: [H, W] });
  const wrong = gotClasses.ne(refClasses).logicalAnd(clear).sum().item();
  assert.equal(wrong, 0, `${wrong} pixels of another class than the reference`);
  assert.ok(clear.sum().item() > 0.99 * (W * H - 40 * 50), 'almost every pixel compared');
  torch.dispose([sums, total, w2d, meanT, stdT, expected, probs, valid, diff, top2, clear, refClasses, gotClasses]);
  model.dispose();
});

test('interrupted prediction resumes without recomputing finished rows and gives the same output', async () => {
  const input = join(dir, 'r.tif');
  await scene(input, 160, 640);
  const full = await predict({ checkpoint: run, input, output: join(dir, 'r-full.tif'), window: 128, overlap: 0.25 });
  let strips = 0;
  const stopped = await predict({ checkpoint: run, input, output: join(dir, 'r-resumed.tif'), window: 128, overlap: 0.25, shouldStop: () => ++strips >= 2 });
  assert.equal(stopped.stopped, true);
  assert.ok(!existsSync(join(dir, 'r-resumed.tif')), 'no output at the final path while unfinished');
  assert.ok(existsSync(join(dir, '.r-resumed.tif.geoseg-partial', 'state.json')));
  const resumed = await predict({ checkpoint: run, input, output: join(dir, 'r-resumed.tif'), window: 128, overlap: 0.25, resume: true });
  assert.equal(resumed.resumedFromRow, 1, 'restarts at the last finished window row');
  assert.deepEqual(readBand(join(dir, 'r-resumed.tif')), readBand(join(dir, 'r-full.tif')));
  assert.deepEqual(resumed.classes.map((c) => c.pixels), full.classes.map((c) => c.pixels));
  // a different option set cannot resume someone else's partial run
  await predict({ checkpoint: run, input, output: join(dir, 'r-x.tif'), window: 128, shouldStop: () => true });
  await assert.rejects(predict({ checkpoint: run, input, output: join(dir, 'r-x.tif'), window: 256, resume: true }), /other inputs or options/);
});

/** A stride-1 conv net whose kernels are symmetric under D4: exactly equivariant to flips, rotations, transposes. */
class SymmetricNet extends nn.Module {
  declare readonly a: nn.Conv2d;
  declare readonly b: nn.Conv2d;
  readonly classes = 3;

  constructor() {
    super();
    this.registerModule('a', new nn.Conv2d(3, 8, 3, { padding: 1 }));
    this.registerModule('b', new nn.Conv2d(8, 3, 3, { padding: 1 }));
    torch.noGrad(() => {
      for (const conv of [this.a, this.b]) {
        const w = conv.weight;
        const d4 = [w, w.flip([2]), w.flip([3]), w.flip([2, 3]), w.transpose(2, 3), w.transpose(2, 3).flip([2]), w.transpose(2, 3).flip([3]), w.transpose(2, 3).flip([2, 3])];
        w.copy_(torch.stack(d4).mean([0]));
      }
    });
  }

  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x).relu());
  }
}

test('TTA: D4 of an equivariant model equals no TTA; each transform is undone exactly', () => {
  torch.tidy(() => {
    torch.manualSeed(1);
    // plain modules as segmentation models: softmax of their output is their probability rule
    const asModel = (m: nn.Module & { forward(t: Tensor): Tensor }) => Object.assign(m, { predictProbabilities: (t: Tensor) => m.forward(t).softmax(1) }) as unknown as SegmentationModel;
    const sym = asModel(new SymmetricNet());
    const x = torch.randn([2, 3, 32, 32]);
    const plain = predictWindows(sym, x, 'none');
    assert.ok(predictWindows(sym, x, 'd4').sub(plain).abs().max().item() < 1e-5);
    // a generic model: by hand with other ops (rot90 = transpose then flip, etc.)
    const seq = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(4, 3, 5, { padding: 2 }));
    const gen = asModel(seq);
    const f = (t: Tensor) => seq.forward(t).softmax(1);
    const byHand: Record<string, Tensor> = {
      identity: f(x),
      lr: f(x.flip([3])).flip([3]),
      tb: f(x.flip([2])).flip([2]),
      lrtb: f(x.flip([2]).flip([3])).flip([3]).flip([2]),
      transpose: f(x.permute([0, 1, 3, 2])).permute([0, 1, 3, 2]),
      antitranspose: f(x.flip([2, 3]).permute([0, 1, 3, 2])).permute([0, 1, 3, 2]).flip([2, 3]),
      rot90: f(x.transpose(2, 3).flip([2])).flip([2]).transpose(2, 3),
      rot270: f(x.flip([2]).transpose(2, 3)).transpose(2, 3).flip([2]),
    };
    for (const name of Object.keys(TTA_TRANSFORMS)) {
      const got = predictWindows(gen, x, [name]);
      assert.ok(got.sub(byHand[name]).abs().max().item() < 1e-6, name);
    }
    // rot90 turns counter-clockwise (torch.rot90): the top-right corner goes to the top-left
    const m = torch.zeros([1, 1, 4, 4]);
    m.narrow(2, 0, 1).narrow(3, 3, 1).fill_(1);
    assert.equal(TTA_TRANSFORMS.rot90.apply(m).select(2, 0).select(2, 0).item(), 1);
    // the average of all of them equals 'd4'
    const mean = torch.stack(Object.values(byHand)).mean([0]);
    assert.ok(predictWindows(gen, x, 'd4').sub(mean).abs().max().item() < 1e-6);
  });
});

test('post-processing: sieve, fill holes, opening, closing; nodata untouched; polygons with class, name, area', async () => {
  const path = join(dir, 'post.tif');
  // 64×64: background 0; a 3×3 island of 1; a 20×20 block of 2 with a 2×2 hole of 0; a 1-px line of 1; nodata corner;
  // a 10×10 block of 2 in the top-right corner with a 2×2 notch of 0 at the scene border (not a hole)
  const make = async () => torch.tidy(async () => {
    const c = torch.zeros([64, 64], { dtype: 'uint8' });
    c.narrow(0, 5, 3).narrow(1, 5, 3).fill_(1);
    c.narrow(0, 30, 20).narrow(1, 30, 20).fill_(2);
    c.narrow(0, 38, 2).narrow(1, 38, 2).fill_(0);
    c.narrow(0, 20, 1).narrow(1, 10, 30).fill_(1);
    c.narrow(0, 60, 4).narrow(1, 60, 4).fill_(255);
    c.narrow(0, 0, 10).narrow(1, 54, 10).fill_(2);
    c.narrow(0, 0, 2).narrow(1, 62, 2).fill_(0);
    const ds = gdal.open(path, 'w', 'GTiff', 64, 64, 1, 'Byte');
    ds.geoTransform = [0, 1, 0, 64, 0, -1];
    ds.srs = gdal.SpatialReference.fromEPSG(32640);
    await ds.bands.get(1).pixels.writeAsync(0, 0, 64, 64, c.contiguous().data() as Uint8Array);
    ds.close();
  });
  const at = (d: Uint8Array, x: number, y: number) => d[y * 64 + x];
  await make();
  await postprocess(path, 3, 255, { sieve: 20 });
  let d = readBand(path);
  assert.equal(at(d, 6, 6), 0, 'the 9-px island is sieved away');
  assert.equal(at(d, 35, 35), 2, 'the block stays');
  assert.equal(at(d, 38, 38), 2, 'the 4-px hole is merged into the block around it');
  assert.equal(at(d, 20, 20), 1, 'the 30-px line stays');
  assert.equal(at(d, 62, 62), 255, 'nodata untouched');
  await make();
  await postprocess(path, 3, 255, { fillHoles: 10, classes: [2] });
  d = readBand(path);
  assert.equal(at(d, 38, 38), 2, 'the hole is filled');
  assert.equal(at(d, 6, 6), 1, 'the island is not a hole of class 2');
  assert.equal(at(d, 63, 0), 0, 'the notch at the scene border is not a hole');
  assert.equal(at(d, 62, 62), 255, 'nodata untouched');
  await make();
  await postprocess(path, 3, 255, { fillHoles: 10 });
  d = readBand(path);
  assert.equal(at(d, 6, 6), 0, 'for all classes, the 9-px island is a hole in the background');
  assert.equal(at(d, 20, 20), 1, 'the 30-px line is not');
  await make();
  await postprocess(path, 3, 255, { open: 1 });
  d = readBand(path);
  assert.equal(at(d, 20, 20), 0, 'opening removes the 1-px line');
  assert.equal(at(d, 6, 6), 1, 'and keeps the 3×3 island');
  assert.equal(at(d, 62, 62), 255);
  await make();
  await postprocess(path, 3, 255, { close: 1 });
  d = readBand(path);
  assert.equal(at(d, 38, 38), 2, 'closing fills the 2×2 gap');
  assert.equal(at(d, 6, 6), 1);
  // polygons
  await make();
  const n = await vectorize(path, join(dir, 'post.geojson'), [{ id: 0, name: 'zero' }, { id: 1, name: 'one' }, { id: 2, name: 'two' }], { simplify: 0, nodata: null, overwrite: true });
  const v = gdal.open(join(dir, 'post.geojson'));
  const feats = [...v.layers.get(0).features].map((f) => ({ cls: f.fields.get('class'), name: f.fields.get('name'), area: f.fields.get('area') }));
  v.close();
  assert.equal(feats.length, n);
  assert.ok(feats.some((f) => f.cls === 2 && f.name === 'two' && f.area === 400 - 4), 'the block (minus its hole) is one polygon of 396 m²');
  assert.ok(feats.some((f) => f.cls === 1 && f.area === 9));
  assert.ok(feats.some((f) => f.cls === 1 && f.area === 30));
});

test('predict errors: one line naming the cause, nothing at the output path', async () => {
  const input = join(dir, 'e.tif');
  await scene(input, 64, 64);
  const cliRun = (args: string[]) => spawnSync(process.execPath, [cli, 'predict', ...args], { encoding: 'utf8' });
  const base = ['--checkpoint', run, '--input', input, '--output', join(dir, 'e-out.tif')];
  const cases: [string[], RegExp][] = [
    [['--checkpoint', join(dir, 'none'), '--input', input, '--output', join(dir, 'e-out.tif')], /none: no such checkpoint or run folder/],
    [[...base.slice(0, 2), '--input', join(dir, 'missing.tif'), '--output', join(dir, 'e-out.tif')], /missing\.tif: cannot open as a raster/],
    [[...base, '--window', '100'], /--window: must be a multiple of 32 \(e\.g\. 256, 512, 1024\), got '100'/],
    [['--checkpoint', run, '--input', input, '--output', join(dir, 'no', 'such', 'out.tif')], /out\.tif: output folder .*no\/such does not exist/],
    [[...base, '--tta', 'spin'], /unknown TTA 'spin'/],
  ];
  const results = await spawnAll(cases.map(([args]) => [process.execPath, cli, 'predict', ...args]));
  for (const [i, [args, re]] of cases.entries()) {
    const r = results[i];
    assert.notEqual(r.status, 0, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  // band count the model cannot take
  const two = join(dir, 'two.tif');
  await torch.tidy(() => writeCog(two, torch.zeros([2, 64, 64], { dtype: 'uint8' }), { overwrite: true }));
  let r = cliRun(['--checkpoint', run, '--input', two, '--output', join(dir, 'e-out.tif')]);
  assert.match(r.stderr, /two\.tif: has 2 bands, the model .* takes 3/);
  // complex data
  const cpx = join(dir, 'cpx.tif');
  gdal.open(cpx, 'w', 'GTiff', 64, 64, 3, 'CInt16').close();
  r = cliRun(['--checkpoint', run, '--input', cpx, '--output', join(dir, 'e-out.tif')]);
  assert.match(r.stderr, /cpx\.tif: band data type CInt16 cannot be fed to the model/);
  assert.ok(!existsSync(join(dir, 'e-out.tif')));
  // output present without --overwrite; with it, replaced
  writeFileSync(join(dir, 'e-out.tif'), 'old');
  r = cliRun(base);
  assert.match(r.stderr, /e-out\.tif: already exists \(pass --overwrite to replace it\)/);
  r = cliRun([...base, '--overwrite', '--vector', join(dir, 'e.gpkg'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).vector.endsWith('e.gpkg'));
  // incomplete checkpoint
  rmSync(join(run, 'checkpoints', 'best', 'model.safetensors'));
  r = cliRun(['--checkpoint', join(run, 'checkpoints', 'best'), '--input', input, '--output', join(dir, 'e2.tif')]);
  assert.match(r.stderr, /best: incomplete checkpoint \(model\.safetensors is missing\)/);
});
