import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test("plain node imports createModel from 'geoseg' (built package, no TS runner)", () => {
  const script = `
    import * as torch from '@geoseg/torch';
    import { createModel, ARCHITECTURES } from 'geoseg';
    const m = createModel({ arch: 'unet', encoder: 'resnet18', classes: 3 });
    m.eval();
    const y = torch.noGrad(() => m.forward(torch.zeros([1, 3, 32, 32])));
    console.log(JSON.stringify({ shape: y.shape, archs: Object.keys(ARCHITECTURES).length }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { shape: [1, 3, 32, 32], archs: 25 });
});
