import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { MobileNetV2Encoder } from '../src/models/encoders/mobilenet-v2.js';
import { VGG16Encoder } from '../src/models/encoders/vgg.js';
import type { Encoder } from '../src/models/encoders/encoder.js';

// Made by fixtures/make_names.py from torchvision 0.14.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const expected = JSON.parse(readFileSync(join(fixtures, 'torchvision_names.json'), 'utf8'));

interface FeatureRef { shape: number[]; mean: number; absMean: number; first: number[] }

const input = (bands = 3, size = 64) => torch.randn([1, bands, size, size]);

function checkNames(enc: Encoder, ref: { names: string[]; shapes: number[][] }): void {
  const sd = enc.stateDict();
  assert.deepEqual(Object.keys(sd), ref.names);
  assert.deepEqual(Object.values(sd).map((t) => t.shape), ref.shapes);
  // A torchvision-shaped state dict loads strictly.
  const dict = Object.fromEntries(ref.names.map((n, i) => [n, torch.zeros(ref.shapes[i], { dtype: sd[n].dtype })]));
  assert.deepEqual(enc.loadStateDict(dict), { missingKeys: [], unexpectedKeys: [] });
}

// The same deterministic weights as make_names.py's fill().
function fill(enc: Encoder): void {
  torch.noGrad(() => {
    let k = 0;
    for (const [name, t] of Object.entries(enc.stateDict())) {
      if (!t.isFloatingPoint()) continue;
      const base = torch.arange(t.numel(), { dtype: 'float32' }).mul(0.37).add(k).sin().reshape([...t.shape]);
      let v: Tensor;
      if (t.ndim === 4) v = base.mul(2 / Math.sqrt(t.numel() / t.shape[0]));
      else if (name.endsWith('running_var')) v = base.mul(base).mul(0.5).add(1);
      else if (name.endsWith('weight')) v = base.mul(0.1).add(1);
      else v = base.mul(0.1);
      t.copy_(v);
      k++;
    }
  });
}

function fixedInput(): Tensor {
  const i = torch.arange(3 * 64 * 64, { dtype: 'float32' });
  return i.mul(0.1).sin().add(i.mul(0.031).cos()).reshape([1, 3, 64, 64]);
}

function checkFeatures(feats: Tensor[], refs: FeatureRef[]): void {
  assert.equal(feats.length, refs.length);
  feats.forEach((f, j) => {
    const ref = refs[j];
    assert.deepEqual(f.shape, ref.shape, `feature ${j} shape`);
    const scale = Math.max(ref.absMean, 1e-3);
    assert.ok(Math.abs(f.mean().item() - ref.mean) < 1e-4 * scale + 1e-6, `feature ${j} mean ${f.mean().item()} vs ${ref.mean}`);
    assert.ok(Math.abs(f.abs().mean().item() - ref.absMean) < 1e-4 * scale, `feature ${j} abs mean`);
    const first = Array.from(f.reshape([-1]).slice(0, 0, 16).data() as Float32Array);
    first.forEach((v, i) => assert.ok(Math.abs(v - ref.first[i]) < 1e-3 * scale, `feature ${j} value ${i}: ${v} vs ${ref.first[i]}`));
  });
}

test('MobileNetV2: parameter names and shapes are torchvision\'s; a torchvision state dict loads', () => {
  torch.tidy(() => {
    const enc = new MobileNetV2Encoder();
    checkNames(enc, expected.mobilenet_v2);
    assert.equal(enc.firstConv, 'features.0.0.weight');
    assert.ok(enc.firstConv in enc.stateDict());
    enc.dispose();
  });
});

test('VGG16-BN: parameter names and shapes are torchvision\'s; a torchvision state dict loads', () => {
  torch.tidy(() => {
    const enc = new VGG16Encoder();
    checkNames(enc, expected.vgg16_bn);
    assert.equal(enc.firstConv, 'features.0.weight');
    assert.ok(enc.firstConv in enc.stateDict());
    enc.dispose();
  });
});

test('feature shapes and channels for a 1x3x64x64 input, and for 4 bands', () => {
  torch.tidy(() => {
    const cases: [Encoder, Encoder, number[]][] = [
      [new MobileNetV2Encoder(), new MobileNetV2Encoder({ inChannels: 4 }), [16, 24, 32, 96, 1280]],
      [new VGG16Encoder(), new VGG16Encoder({ inChannels: 4 }), [64, 128, 256, 512, 512]],
    ];
    for (const [rgb, four, channels] of cases) {
      assert.deepEqual(rgb.channels, channels);
      assert.equal(rgb.outputStride, 32);
      for (const [enc, bands] of [[rgb, 3], [four, 4]] as const) {
        enc.eval();
        assert.equal(enc.stateDict()[enc.firstConv].shape[1], bands);
        const feats = torch.noGrad(() => enc.forward(input(bands)));
        assert.deepEqual(feats.map((f) => f.shape), channels.map((c, i) => [1, c, 64 >> (i + 1), 64 >> (i + 1)]));
        enc.dispose();
      }
    }
  });
});

test('MobileNetV2 output stride 16 and 8 keep the deepest features at that stride', () => {
  torch.tidy(() => {
    for (const [os, sizes] of [[16, [32, 16, 8, 4, 4]], [8, [32, 16, 8, 8, 8]]] as const) {
      const enc = new MobileNetV2Encoder({ outputStride: os }).eval();
      assert.equal(enc.outputStride, os);
      // Dilation changes no parameter shape, so pretrained weights still load.
      checkNames(enc, expected.mobilenet_v2);
      const feats = torch.noGrad(() => enc.forward(input()));
      assert.deepEqual(feats.map((f) => f.shape), enc.channels.map((c, i) => [1, c, sizes[i], sizes[i]]));
      enc.dispose();
    }
  });
});

test('features match torchvision\'s for the same weights (MobileNetV2 at stride 32/16/8, VGG16-BN)', () => {
  torch.tidy(() => {
    for (const os of [32, 16, 8] as const) {
      const enc = new MobileNetV2Encoder({ outputStride: os }).eval();
      fill(enc);
      checkFeatures(torch.noGrad(() => enc.forward(fixedInput())), expected.mobilenet_v2.features[String(os)]);
      enc.dispose();
    }
    const vgg = new VGG16Encoder().eval();
    fill(vgg);
    checkFeatures(torch.noGrad(() => vgg.forward(fixedInput())), expected.vgg16_bn.features['32']);
    vgg.dispose();
  });
});

test('VGG16 at output stride 16 and 8, as DeepLab: stride-1 3×3 pools, conv5 dilated by 2 at 8 (numbers: the DeepLab v1 fixture)', () => {
  torch.tidy(() => {
    for (const [outputStride, sizes] of [[16, [32, 16, 8, 4, 4]], [8, [32, 16, 8, 8, 8]]] as const) {
      const vgg = new VGG16Encoder({ outputStride, batchNorm: false }).eval();
      const f = torch.noGrad(() => vgg.forward(torch.zeros([1, 3, 64, 64])));
      assert.deepEqual(f.map((t) => t.shape[2]), sizes, `output stride ${outputStride}`);
      const convs = [...vgg.features].filter((m) => m instanceof nn.Conv2d) as nn.Conv2d[];
      assert.deepEqual(convs.slice(-3).map((c) => c.dilation), outputStride === 8 ? [[2, 2], [2, 2], [2, 2]] : [[1, 1], [1, 1], [1, 1]]);
      assert.equal(Object.keys(vgg.stateDict()).length, 26, 'plain VGG16: 13 convolutions with bias');
      vgg.dispose();
    }
  });
});

test('torchvision-style init: kaiming normal (fan out) convolutions, zero conv bias, BN 1/0', () => {
  torch.tidy(() => {
    torch.manualSeed(0);
    const mob = new MobileNetV2Encoder();
    const w = mob.stateDict()['features.18.0.weight']; // [1280, 320, 1, 1]: fan out 1280
    assert.ok(Math.abs(w.std().item() - Math.sqrt(2 / 1280)) < 0.05 * Math.sqrt(2 / 1280));
    assert.equal(mob.stateDict()['features.18.1.weight'].min().item(), 1);
    const vgg = new VGG16Encoder();
    const v = vgg.stateDict()['features.40.weight']; // [512, 512, 3, 3]: fan out 4608
    assert.ok(Math.abs(v.std().item() - Math.sqrt(2 / 4608)) < 0.05 * Math.sqrt(2 / 4608));
    assert.equal(vgg.stateDict()['features.40.bias'].abs().max().item(), 0);
    mob.dispose();
    vgg.dispose();
  });
});
