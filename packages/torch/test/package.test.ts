import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(pkg, '..', '..');

test('plain node imports the built package (no TS runner)', () => {
  const script = `
    import * as torch from '@geoseg/torch';
    const x = torch.tensor([[1, 2], [3, 4]]);
    console.log(JSON.stringify({ sum: x.matmul(x).sum().item(), dtype: x.dtype, fns: typeof torch.conv2d }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { sum: 54, dtype: 'float32', fns: 'function' });
});

test('the build declares types for the package entry', () => {
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  assert.equal(manifest.types, 'dist/index.d.ts');
  const dts = readFileSync(join(pkg, 'dist', 'index.d.ts'), 'utf8');
  assert.match(dts, /export \* from '.\/generated\/ops.js'/);
});

test('a wrong LIBTORCH gives one actionable line and a non-zero exit', () => {
  const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'libtorch-config.mjs'), 'include'], {
    env: { ...process.env, LIBTORCH: '/nonexistent/libtorch' }, encoding: 'utf8',
  });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /LIBTORCH=\/nonexistent\/libtorch is not a libtorch folder/);
});

test('the system libtorch is found with its C++ ABI', () => {
  const r = JSON.parse(execFileSync(process.execPath, [join(pkg, 'scripts', 'libtorch-config.mjs'), 'summary'], { encoding: 'utf8' }));
  assert.ok(['0', '1'].includes(r.abi));
  assert.match(r.libs, /-ltorch -ltorch_cpu -lc10/);
});
