import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const geoseg = (...args: string[]) => spawnSync(join(repo, 'node_modules', '.bin', 'geoseg'), args, { cwd: repo, encoding: 'utf8' });

// one `geoseg models` run for both checks: it builds every architecture (about 10 s)
test('geoseg models --json --flops prints one JSON object with encoders and architectures, their parameters and GFLOPs', () => {
  const r = geoseg('models', '--json', '--encoder', 'resnet18', '--classes', '4', '--flops', '64');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const resnet18 = out.encoders.find((e: { name: string }) => e.name === 'resnet18');
  assert.equal(resnet18.parameters, 11_176_512, 'torchvision resnet18 without its fc layer');
  assert.deepEqual(out.architectures.map((a: { name: string }) => a.name), ['unet', 'fcn32s', 'fcn16s', 'fcn8s', 'deeplabv1', 'deeplabv2', 'deeplabv3', 'deeplabv3plus', 'pspnet', 'hrnet', 'hrnet_ocr', 'ocrnet', 'bisenet', 'danet', 'ccnet', 'nonlocal', 'fpn', 'farseg', 'factseg', 'unetpp', 'attention_unet', 'denseaspp', 'fastfcn', 'refinenet', 'pointrend']);
  // each architecture is counted with --encoder or, when it does not take that one, its own first encoder
  const encoderParams = (name: string) => out.encoders.find((e: { name: string }) => e.name === name).parameters;
  assert.ok(out.architectures.every((a: { parameters: number; parametersEncoder: string }) => a.parameters > encoderParams(a.parametersEncoder)));
  assert.deepEqual(out.architectures.filter((a: { parametersEncoder: string }) => a.parametersEncoder !== 'resnet18').map((a: { name: string; parametersEncoder: string }) => `${a.name}:${a.parametersEncoder}`), ['deeplabv1:vgg16', 'hrnet:hrnetv2_w18', 'hrnet_ocr:hrnetv2_w18']);
  // --flops 64, ResNet-18: torchvision's 1.81 GMACs at 224², less its head; every ResNet stage's
  // map is (64/224)² of its 224² size, so the FLOPs scale exactly
  const expected = 2 * (1.81 - 0.000512) * (64 / 224) ** 2;
  assert.ok(Math.abs(resnet18.gflops - expected) < 2 * 0.006 * (64 / 224) ** 2, `resnet18: ${resnet18.gflops} GFLOPs, torchvision's figure gives ${expected}`);
  assert.ok(out.architectures.every((a: { gflops: number }) => a.gflops > 0));
  assert.equal(out.parametersFor.flopsSize, 64);
});

test('geoseg models prints tables; --help; bad input exits non-zero with one line', () => {
  const text = geoseg('models', '--encoder', 'mobilenet_v2');
  assert.equal(text.status, 0);
  assert.match(text.stdout, /mobilenet_v2\s+2223872/);
  const help = geoseg('models', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: geoseg models/);
  for (const args of [['models', '--encoder', 'nope'], ['modelz'], ['models', '--bogus'], ['models', '--flops', '100']]) {
    const r = geoseg(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^geoseg: /);
  }
});

test('npx geoseg prints only its own output (no npm warnings about the repository\'s config)', () => {
  const r = spawnSync('npx', ['geoseg', '--help'], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: geoseg <command>/);
  assert.equal(r.stderr, '');
});
