// geoseg's encoders and DeepLabV3 against torchvision (reference outputs made by
// fixtures/make_torchvision_fixtures.py): same weights (filled from the same libtorch generator,
// seeded per entry by a hash of its name), same input, outputs within 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import type { Tensor, nn } from '@geoseg/torch';
import { createEncoder, createModel } from '../src/index.js';

const ref = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'torchvision_outputs.json'), 'utf8'));

function nameSeed(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 2147483647;
  return h;
}

// The fill rule of make_torchvision_fixtures.py.
function fill(model: nn.Module): void {
  torch.tidy(() => torch.noGrad(() => {
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (!t.isFloatingPoint()) continue;
      torch.manualSeed(nameSeed(name));
      const u = torch.rand(t.shape, { dtype: 'float32' });
      let v: Tensor;
      if (name.endsWith('running_var')) v = u.add(0.5);
      else if (name.endsWith('running_mean') || name.endsWith('bias')) v = u.sub(0.5).mul(0.2);
      else if (t.ndim === 1) v = u.add(0.5);
      else v = u.mul(2).sub(1).mul(Math.sqrt(3 / (t.numel() / t.shape[0])));
      t.copy_(v);
    }
  }));
  model.eval();
}

function input(): Tensor {
  torch.manualSeed(7);
  return torch.rand([1, 3, 64, 64]).mul(2).sub(1);
}

interface Summary { shape: number[]; sum: number; absSum: number; indices: number[]; values: number[] }

function compare(label: string, t: Tensor, s: Summary): void {
  assert.deepEqual(t.shape, s.shape, `${label} shape`);
  const flat = t.reshape([-1]).data() as Float32Array;
  let maxDiff = 0;
  s.indices.forEach((idx, i) => { maxDiff = Math.max(maxDiff, Math.abs(flat[idx] - s.values[i])); });
  assert.ok(maxDiff <= 1e-4, `${label}: max abs difference ${maxDiff}`);
  const sum = t.double().sum().item();
  const absSum = t.double().abs().sum().item();
  assert.ok(Math.abs(sum - s.sum) <= 1e-4 * Math.max(1, s.absSum / 100), `${label}: sum ${sum} vs ${s.sum}`);
  assert.ok(Math.abs(absSum - s.absSum) <= 1e-5 * s.absSum + 1e-3, `${label}: abs sum ${absSum} vs ${s.absSum}`);
}

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
