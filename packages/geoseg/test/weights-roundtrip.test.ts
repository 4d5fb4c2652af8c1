// Weights saved by geoseg load back in PyTorch under the same names: a DeepLabV3-ResNet50 written
// to safetensors is loaded (strictly) by torchvision in fixtures/check_roundtrip.py, whose logits
// must equal geoseg's. Runs when Debian's python3-torch and python3-torchvision are installed;
// the plain safetensors round trip always runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { createModel } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

function pythonWithTorchvision(): string | undefined {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
  return r.status === 0 ? '/usr/bin/python3' : undefined;
}

test('a geoseg state dict survives a safetensors round trip (names, dtypes, values)', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'geoseg-')), 'w.safetensors');
  torch.tidy(() => {
    torch.manualSeed(0);
    const a = createModel({ arch: 'pspnet', encoder: 'resnet18', classes: 4, auxHead: true });
    torch.saveSafetensors(file, a.stateDict());
    torch.manualSeed(1);
    const b = createModel({ arch: 'pspnet', encoder: 'resnet18', classes: 4, auxHead: true });
    b.loadStateDict(torch.loadSafetensors(file));
    for (const [k, t] of Object.entries(a.stateDict())) {
      assert.equal(b.stateDict()[k].dtype, t.dtype, k);
      assert.ok(b.stateDict()[k].equal(t), k);
    }
    a.dispose();
    b.dispose();
  });
});

const python = pythonWithTorchvision();
test('torchvision loads geoseg\'s DeepLabV3-ResNet50 weights strictly and computes the same logits', { skip: python ? false : 'needs /usr/bin/python3 with torch and torchvision (apt-get install python3-torchvision)' }, () => {
  const file = join(mkdtempSync(join(tmpdir(), 'geoseg-')), 'deeplab.safetensors');
  torch.tidy(() => {
    torch.manualSeed(3);
    const model = createModel({ arch: 'deeplabv3', encoder: 'resnet50', classes: 5 });
    // make the BatchNorm statistics non-trivial so they matter
    torch.noGrad(() => model.forward(torch.randn([2, 3, 64, 64])));
    model.eval();
    const input = torch.randn([1, 3, 64, 64]);
    const logits = torch.noGrad(() => model.forward(input));
    const tensors: Record<string, torch.Tensor> = { input, logits };
    for (const [k, t] of Object.entries(model.stateDict())) tensors[`model.${k}`] = t;
    torch.saveSafetensors(file, tensors, { classes: '5' });
    model.dispose();
  });
  const out = JSON.parse(execFileSync(python!, [join(here, 'fixtures', 'check_roundtrip.py'), file], { encoding: 'utf8' }));
  assert.ok(out.keys > 300);
  assert.ok(out.maxAbsDiff <= 1e-4, `max abs difference ${out.maxAbsDiff}`);
});
