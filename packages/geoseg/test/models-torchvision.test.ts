// geoseg's encoders and DeepLabV3 against torchvision (reference outputs made by
// fixtures/make_torchvision_fixtures.py): same weights (filled from the same libtorch generator,
// seeded per entry by a hash of its name), same input, outputs within 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { createEncoder, createModel, loadEncoderWeights } from '../src/index.js';
import { compare, fill, input } from './helpers/reference-fill.js';
import { slowTest } from './helpers/tier.js';

const ref = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'torchvision_outputs.json'), 'utf8'));

for (const name of ['resnet18', 'resnet50', 'mobilenet_v2']) {
  test(`${name} feature maps equal torchvision's`, () => {
    torch.tidy(() => {
      const encoder = createEncoder(name);
      fill(encoder);
      const features = torch.noGrad(() => encoder.forward(input()));
      features.forEach((f, i) => compare(`${name} stride ${2 ** (i + 1)}`, f, ref[name][i]));
      encoder.dispose();
    });
  });
}

test('DeepLabV3-ResNet50 has torchvision\'s state dict names and reproduces its logits', () => {
  torch.tidy(() => {
    const model = createModel({ arch: 'deeplabv3', encoder: 'resnet50', classes: 6 });
    assert.deepEqual(Object.keys(model.stateDict()), ref.deeplabv3_resnet50.keys);
    fill(model);
    const logits = torch.noGrad(() => model.forward(input()));
    compare('deeplabv3_resnet50 logits', logits, ref.deeplabv3_resnet50.logits);
    model.dispose();
  });
});

test('DenseNet-121 has torchvision\'s names and its features (smp\'s taps), at output stride 32 and 8', () => {
  torch.tidy(() => {
    const encoder = createEncoder('densenet121');
    assert.deepEqual(Object.keys(encoder.stateDict()), ref.densenet121_keys);
    fill(encoder);
    const features = torch.noGrad(() => encoder.forward(input()));
    features.forEach((f, i) => compare(`densenet121 stride ${2 ** (i + 1)}`, f, ref.densenet121[i]));
    encoder.dispose();
    const dilated = createEncoder('densenet121', { outputStride: 8 });
    fill(dilated);
    const os8 = torch.noGrad(() => dilated.forward(input()));
    os8.forEach((f, i) => compare(`densenet121 output stride 8, feature ${i}`, f, ref.densenet121_os8[i]));
    dilated.dispose();
  });
});

test('DenseNet-121 loads torchvision\'s published (legacy-named) state dict strictly, classifier dropped', () => {
  torch.tidy(() => {
    const source = createEncoder('densenet121');
    // torchvision's downloadable file names norm1/relu1/conv1 inside dense layers as norm.1 and so on
    const legacy: Record<string, torch.Tensor> = { 'classifier.weight': torch.zeros([1000, 1024]), 'classifier.bias': torch.zeros([1000]) };
    // and predates num_batches_tracked, which PyTorch lets a strict load miss
    for (const [k, v] of Object.entries(source.stateDict())) {
      if (!k.endsWith('num_batches_tracked')) legacy[k.replace(/(denselayer\d+\.(?:norm|conv))([12])\./, '$1.$2.')] = v;
    }
    assert.ok(Object.keys(legacy).some((k) => k.includes('.norm.1.')), 'the legacy names are in the dict');
    const target = createEncoder('densenet121');
    loadEncoderWeights(target, legacy);
    const a = source.stateDict();
    const b = target.stateDict();
    assert.ok(Object.keys(a).every((k) => a[k]!.equal(b[k]!)), 'every tensor loaded');
    assert.throws(() => loadEncoderWeights(createEncoder('densenet121'), { ...legacy, 'features.extra.weight': torch.zeros([1]) }), /unexpected keys: features.extra.weight/);
    source.dispose();
    target.dispose();
  });
});

test('ResNeSt-50 has the official names and reproduces the official features at output stride 32, 16 and 8', () => {
  torch.tidy(() => {
    for (const [os, key] of [[32, 'resnest50'], [16, 'resnest50_os16'], [8, 'resnest50_os8']] as const) {
      const encoder = createEncoder('resnest50', { outputStride: os });
      if (os === 32) {
        assert.deepEqual(Object.keys(encoder.stateDict()), ref.resnest50_keys);
        assert.equal(encoder.numParameters(), 25_434_240, 'the official resnest50 without its 1000-class fc');
      }
      fill(encoder);
      const features = torch.noGrad(() => encoder.forward(input()));
      features.forEach((f, i) => compare(`${key} feature ${i}`, f, ref[key][i]));
      encoder.dispose();
    }
  });
});

test('Xception-65 has timm\'s names (without head.*) and reproduces the reference features at output stride 32, 16 and 8', () => {
  torch.tidy(() => {
    for (const os of [32, 16, 8] as const) {
      const encoder = createEncoder('xception65', { outputStride: os });
      if (os === 32) {
        assert.deepEqual(Object.keys(encoder.stateDict()), ref.xception65_keys);
        assert.equal(encoder.numParameters(), ref.xception65_parameters);
        assert.equal(encoder.numParameters() + 2048 * 1000 + 1000, 39_916_312, 'with its 1000-class head: timm\'s xception65 count');
      }
      fill(encoder);
      const features = torch.noGrad(() => encoder.forward(input()));
      features.forEach((f, i) => compare(`xception65 output stride ${os}, feature ${i}`, f, ref[`xception65_os${os}`][i]));
      encoder.dispose();
    }
  });
});

slowTest('Hourglass-52 and -104 have mmdetection\'s HourglassNet names and counts (less Hourglass-52\'s unused block) and load its state dicts; Hourglass-52 reproduces the reference features', {}, () => {
  torch.tidy(() => {
    const encoder = createEncoder('hourglass52');
    // mmdet's one-stack net has an `inters.0` block that nothing uses: not part of geoseg's, dropped on load
    const unused: string[] = ref.hourglass52_keys.filter((k: string) => k.startsWith('inters.'));
    assert.deepEqual(unused.length, 12, 'one basic block: two convolutions, two BNs');
    assert.deepEqual(Object.keys(encoder.stateDict()), ref.hourglass52_keys.filter((k: string) => !k.startsWith('inters.')));
    assert.equal(encoder.numParameters(), ref.hourglass52_parameters - 2 * 256 * 256 * 9 - 4 * 256);
    const mmdet = { ...encoder.stateDict(), ...Object.fromEntries(unused.map((k) => [k, torch.zeros([1])])) };
    loadEncoderWeights(encoder, mmdet);
    fill(encoder);
    const features = torch.noGrad(() => encoder.forward(input()));
    features.forEach((f, i) => compare(`hourglass52 feature ${i}`, f, ref.hourglass52[i]));
    encoder.dispose();
    const two = createEncoder('hourglass104');
    assert.deepEqual(Object.keys(two.stateDict()), ref.hourglass104_keys);
    assert.equal(two.numParameters(), ref.hourglass104_parameters);
    two.dispose();
    assert.throws(() => createEncoder('hourglass52', { outputStride: 16 }), /hourglass52: output stride 16 is not available/);
  });
});
