// The FactSeg evaluation preset: the strided window layout (896 at stride 512, the last window at
// the border, a smaller side padded to a multiple of 32), uniform averaging of probabilities,
// and the mIoU without the background. The streamed blender is checked against a dense
// implementation of the protocol written here (windows listed by hand); the CLI end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as torch from '@geoseg/torch';
import { createModel } from '../src/models/index.js';
import { blendRows } from '../src/infer/stream-blend.js';
import { stridedStarts, stridedWindowGrid } from '../src/infer/window-grid.js';
import { foregroundMIoU, segmentationMetrics } from '../src/metrics/index.js';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { slowTest } from './helpers/tier.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');

test('strided window starts: 0, s, 2s, … and the last at the border (hand-computed)', () => {
  assert.deepEqual(stridedStarts(1000, 896, 512), [0, 104]);
  assert.deepEqual(stridedStarts(2000, 896, 512), [0, 512, 1024, 1104]);
  assert.deepEqual(stridedStarts(1920, 896, 512), [0, 512, 1024]);
  assert.deepEqual(stridedStarts(896, 896, 512), [0]);
  assert.deepEqual(stridedStarts(600, 896, 512), [0]);
  const g = stridedWindowGrid(600, 2000, 896, 512);
  assert.deepEqual([g.sizeX, g.sizeY, g.xs, g.ys], [608, 896, [0], [0, 512, 1024, 1104]], 'a 600-wide scene: windows 608 wide (padded to 32)');
});

slowTest('the streamed strided layout equals the protocol computed densely: pad each window to 32, average probabilities', {}, async () => {
  const W = 600, H = 2000, K = 4;
  torch.manualSeed(21);
  const model = createModel({ arch: 'unet', encoder: 'resnet18', decoderChannels: [16, 16, 8, 8, 8], classes: K, inChannels: 3 } as never);
  model.eval();
  const image = torch.randn([3, H, W]).keep();
  // the reference: every window of the protocol (listed by hand for this size), padded with zeros
  // at its right and bottom to a multiple of 32, probabilities cropped back, summed, divided by the count
  const windows = [0, 512, 1024, 1104].map((y) => ({ x: 0, y, w: 600, h: 896 }));
  const { dense, margin } = torch.tidy(() => torch.noGrad(() => {
    const sum = torch.zeros([K, H, W]);
    const count = torch.zeros([H, W]);
    for (const { x, y, w, h } of windows) {
      const crop = image.narrow(1, y, h).narrow(2, x, w);
      const padded = torch.zeros([1, 3, Math.ceil(h / 32) * 32, Math.ceil(w / 32) * 32]);
      padded.narrow(2, 0, h).narrow(3, 0, w).copy_(crop.unsqueeze(0));
      const p = model.predictProbabilities(padded).select(0, 0).narrow(1, 0, h).narrow(2, 0, w);
      sum.narrow(1, y, h).narrow(2, x, w).add_(p);
      count.narrow(0, y, h).narrow(1, x, w).add_(1);
    }
    const avg = sum.div(count.unsqueeze(0));
    const [top2] = avg.topk(2, 0);
    return { dense: torch.keep(avg), margin: torch.keep(top2.select(0, 0).sub(top2.select(0, 1))) };
  }));
  const classes = torch.zeros([H, W], { dtype: 'uint8' }).keep();
  const probabilities = torch.zeros([K, H, W], { dtype: 'uint8' }).keep();
  for await (const band of blendRows(model, {
    grid: stridedWindowGrid(W, H, 896, 512), classes: K, norm: { mean: [0, 0, 0], std: [1, 1, 1] }, nodata: { value: null, nonFinite: false },
    window: 896, overlap: 0, stride: 512, batch: 1, blend: 'uniform', tta: 'none', probabilities: true,
    read: async (x, y, w, h) => {
      // past the scene: any value (the blender zeroes it after normalizing)
      const out = torch.full([3, h, w], 1e3, { dtype: 'float32' });
      out.narrow(1, 0, Math.min(h, H - y)).narrow(2, 0, Math.min(w, W - x)).copy_(image.narrow(1, y, Math.min(h, H - y)).narrow(2, x, Math.min(w, W - x)));
      return out;
    },
  })) {
    classes.narrow(0, band.y0, band.y1 - band.y0).copy_(band.classes);
    probabilities.narrow(1, band.y0, band.y1 - band.y0).copy_(band.probabilities!);
  }
  torch.tidy(() => {
    const clear = margin.gt(1e-5);
    assert.ok(clear.to('float32').mean().item() > 0.99, 'almost no near-ties');
    const same = classes.to('int64').eq(dense.argmax(0)).logicalOr(clear.logicalNot());
    assert.ok(same.all().item(), `the classes of ${same.logicalNot().sum().item()} pixels differ from the dense protocol's`);
    const diff = probabilities.to('float32').sub(dense.mul(255)).abs().max().item();
    assert.ok(diff <= 0.5 + 1e-3, `probabilities ×255 within rounding: max difference ${diff}`);
    assert.ok(dense.argmax(0).reshape([-1]).bincount(null, K).gt(0).sum().item() >= 2, 'several classes, so a difference shows');
  });
  torch.dispose([image, dense, margin, classes, probabilities]);
  model.dispose();
});

test('foreground mIoU leaves the background class out (hand-computed)', () => {
  // rows: truth, columns: prediction; IoU 0: 5/(5+2+1)=0.625, 1: 3/(3+1+2)=0.5, 2: 4/(4+1+1)=2/3
  const m = segmentationMetrics([[5, 1, 1], [1, 3, 0], [0, 1, 4]]);
  assert.ok(Math.abs(foregroundMIoU(m, 0) - (0.5 + 2 / 3) / 2) < 1e-12);
  assert.ok(Math.abs(m.mIoU - (0.625 + 0.5 + 2 / 3) / 3) < 1e-12);
});

test('eval.preset in a run config fills in the protocol and refuses the fields it sets', () => {
  const base = { out: 'o', data: { dataset: 'd' }, train: { iterations: 1 } };
  const cfg = parseTrainConfig({ ...base, eval: { preset: 'factseg', batch: 2 } }, 'run.yaml');
  assert.deepEqual([cfg.eval.window, cfg.eval.stride, cfg.eval.blend, cfg.eval.tta, cfg.eval.batch], [896, 512, 'uniform', 'none', 2]);
  assert.throws(() => parseTrainConfig({ ...base, eval: { preset: 'factseg', window: 512 } }, 'run.yaml'), /^GeosegError: run\.yaml: eval\.window: not with eval\.preset \(factseg sets the windows, blending and TTA\)$/);
  assert.throws(() => parseTrainConfig({ ...base, eval: { preset: 'isaid' } }, 'run.yaml'), /run\.yaml: eval\.preset: /);
  assert.equal(parseTrainConfig(base, 'run.yaml').eval.stride, null, 'no preset: the evenly spread windows');
});

slowTest('geoseg eval --preset factseg: the protocol in the report, the foreground mIoU, one-line errors', {}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-eval-preset-'));
  const ds = await tinyDataset(dir);
  const cfg = parseTrainConfig({
    out: join(dir, 'run'), data: { dataset: ds, crop: 64, batch: 2 }, model: { arch: 'unet', encoder: 'resnet18', decoderChannels: [16, 16, 8, 8, 8] },
    eval: { window: 128 }, train: { iterations: 4, evalEvery: 0, checkpointEvery: 4, threads: 1 },
  }, 'run.yaml');
  await train(cfg);
  const run = (args: string[]) => spawnSync(process.execPath, [cli, 'eval', '--checkpoint', cfg.out, '--data', ds, '--threads', '1', ...args], { encoding: 'utf8' });
  const noBackground = run(['--preset', 'factseg', '--json']);
  assert.equal(noBackground.status, 1);
  assert.match(noBackground.stderr, /^geoseg: .*: no class named background \(give --background <class>\); the classes are red, blue\n$/);
  const conflict = run(['--preset', 'factseg', '--window', '512']);
  assert.equal(conflict.status, 2);
  assert.match(conflict.stderr, /--preset factseg sets the windows, blending and TTA itself; leave out --window/);
  const r = run(['--preset', 'factseg', '--background', 'red', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual([report.preset, report.window, report.stride, report.blend, report.background], ['factseg', 896, 512, 'uniform', 'red']);
  assert.equal(report.foregroundMIoU, report.iou[1], 'two classes: the foreground mIoU is the other class\'s IoU');
  const text = run(['--preset', 'factseg', '--background', 'red', '--foreground-only']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /mIoU without red/);
  assert.ok(!/^red /m.test(text.stdout), 'no background row');
});

