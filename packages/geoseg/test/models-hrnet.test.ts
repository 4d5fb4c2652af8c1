// HRNetV2 against the published facts: parameter counts (W18 backbone 9.56M; W48 with the HRNetV2
// head for 19 classes 65.86M, with OCR 70.3M, counting weights, biases and BN affine parameters) and the official
// code's state-dict names; its pyramid serves other decoders (UNet on HRNet). The numbers against
// an independent Python implementation: models-decoders.test.ts (hrnet_w18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import { createEncoder, createModel, loadEncoderWeights } from '../src/models/index.js';

const millions = (n: number) => Math.round(n / 1e4) / 100;

test('HRNetV2 parameter counts are the published ones: W18 backbone 9.56M, W48 + head (19 classes) 65.86M', () => {
  const w18 = createEncoder('hrnetv2_w18');
  assert.equal(millions(w18.numParameters()), 9.56, String(w18.numParameters()));
  w18.dispose();
  const w48 = createModel({ arch: 'hrnet', encoder: 'hrnetv2_w48', classes: 19 });
  assert.equal(millions(w48.numParameters()), 65.86, String(w48.numParameters()));
  w48.dispose();
  // HRNetV2-W48 + OCR: the OCR paper's 70.3M
  const ocr = createModel({ arch: 'hrnet_ocr', encoder: 'hrnetv2_w48', classes: 19 });
  assert.ok(ocr.numParameters() >= 70.3e6 && ocr.numParameters() < 70.4e6, String(ocr.numParameters()));
  ocr.dispose();
});

test('HRNetV2 state-dict names follow the official code; the pyramid is the stem and the four branches', () => {
  const enc = createEncoder('hrnetv2_w32');
  const keys = Object.keys(enc.stateDict());
  for (const k of ['conv1.weight', 'bn2.running_var', 'layer1.0.downsample.0.weight', 'layer1.3.conv3.weight', 'transition1.0.0.weight', 'transition1.1.0.0.weight',
    'transition2.2.0.0.weight', 'transition3.3.0.0.weight', 'stage2.0.branches.0.0.conv1.weight', 'stage3.2.fuse_layers.2.0.0.0.weight', 'stage3.2.fuse_layers.2.0.1.1.weight',
    'stage4.2.fuse_layers.0.3.0.weight', 'stage4.2.branches.3.3.bn2.bias']) {
    assert.ok(keys.includes(k), k);
  }
  for (const absent of ['transition2.0.0.weight', 'transition2.1.0.weight', 'stage2.0.fuse_layers.0.0.0.weight']) assert.ok(!keys.includes(absent), `${absent}: None in the official code`);
  torch.tidy(() => {
    enc.eval();
    const f = torch.noGrad(() => enc.forward(torch.randn([1, 3, 64, 96])));
    assert.deepEqual(f.map((t) => t.shape), [[1, 64, 32, 48], [1, 32, 16, 24], [1, 64, 8, 12], [1, 128, 4, 6], [1, 256, 2, 3]]);
    assert.deepEqual([...enc.channels], [64, 32, 64, 128, 256]);
  });
  enc.dispose();
});

test('UNet on HRNet-W18: logits at input size, every parameter trained', () => {
  torch.tidy(() => {
    const m = createModel({ arch: 'unet', encoder: 'hrnetv2_w18', classes: 3, decoderChannels: [32, 16, 16, 8, 8] });
    m.train();
    const y = m.forward(torch.randn([2, 3, 64, 64]));
    assert.deepEqual(y.shape, [2, 3, 64, 64]);
    y.mean().backward();
    assert.deepEqual(m.namedParameters().filter(([, p]) => p.grad === null).map(([n]) => n), []);
    m.dispose();
  });
});

test('an ImageNet HRNet checkpoint (with its classification head) loads strictly into the encoder', () => {
  torch.tidy(() => {
    const source = createEncoder('hrnetv2_w18');
    // the classification checkpoint's extra parts (HRNet-Image-Classification's names)
    const state = { ...source.stateDict(), 'incre_modules.0.0.conv1.weight': torch.zeros([32, 18, 1, 1]), 'downsamp_modules.0.0.weight': torch.zeros([256, 128, 3, 3]),
      'final_layer.0.weight': torch.zeros([2048, 1024, 1, 1]), 'classifier.weight': torch.zeros([1000, 2048]) };
    const target = createEncoder('hrnetv2_w18');
    loadEncoderWeights(target, state);
    assert.equal(target.stateDict()['stage4.2.branches.3.3.conv2.weight'].sub(source.stateDict()['stage4.2.branches.3.3.conv2.weight']).abs().max().item(), 0);
    assert.throws(() => loadEncoderWeights(target, state, { dropPrefixes: ['classifier.'] }), /incre_modules/);
    source.dispose();
    target.dispose();
  });
});
