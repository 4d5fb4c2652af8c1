// modelFlops: against the FLOPs torchvision documents for its classifiers (its "GFLOPS" are
// multiply-adds at 224², the classifier head included; ours are 2 FLOPs per multiply-add, without
// the head), and a training step's count ≈ 3 forwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import { createEncoder, createModel, modelFlops } from '../src/index.js';

test('encoder FLOPs at 224² match torchvision\'s documented figures (ResNet-18 1.81, ResNet-50 4.09, MobileNetV2 0.30 GMACs)', () => {
  // documented multiply-adds, less the classifier's (in · 1000)
  for (const [name, gmacs, head] of [['resnet18', 1.81, 512], ['resnet50', 4.09, 2048], ['mobilenet_v2', 0.30, 1280]] as const) {
    const encoder = createEncoder(name);
    const { forward, matmul } = modelFlops(encoder, [1, 3, 224, 224]);
    const expected = 2 * (gmacs * 1e9 - head * 1000);
    const relative = Math.abs(forward - expected) / expected;
    console.log(`# ${name}: ${(forward / 2e9).toFixed(3)} GMACs (torchvision: ${gmacs} with its head)`);
    // torchvision rounds to 2 decimals: ±0.005 GMACs
    assert.ok(Math.abs(forward / 2 - (gmacs * 1e9 - head * 1000)) <= 0.006e9, `${name}: ${forward} FLOPs, expected ≈ ${expected} (${relative})`);
    assert.equal(matmul, 0);
    encoder.dispose();
  }
});

test('a model\'s FLOPs scale with the batch, and a training step counts ≈ 3 forwards', () => {
  torch.tidy(() => {
    const model = createModel({ arch: 'unet', encoder: 'resnet18', classes: 6 });
    const one = modelFlops(model, [1, 3, 128, 128]).forward;
    assert.equal(modelFlops(model, [4, 3, 128, 128]).forward, 4 * one);
    model.train();
    const x = torch.randn([4, 3, 128, 128]);
    const step = torch.countFlops(() => model.forward(x).mean().backward()).total;
    // the first convolution computes no input gradient: a little under 3×
    const ratio = step / (4 * one);
    console.log(`# UNet-ResNet18 128²: ${(one / 1e9).toFixed(2)} GFLOPs per image forward, training step ${ratio.toFixed(3)}× the forward`);
    assert.ok(ratio > 2.85 && ratio < 3, `step / forward = ${ratio}`);
    model.dispose();
  });
});
