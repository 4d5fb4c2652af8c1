// geoseg's encoders and DeepLabV3 against torchvision (reference outputs made by
// fixtures/make_torchvision_fixtures.py): same weights (filled from the same libtorch generator,
// seeded per entry by a hash of its name), same input, outputs within 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { createEncoder, createModel } from '../src/index.js';
import { compare, fill, input } from './helpers/reference-fill.js';

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
