// The README's configuration reference is the one generated from the schemas (npm run docs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configReference, withConfigReference } from '../src/train/config-reference.js';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md'), 'utf8');

test('the README holds the configuration reference generated from the zod schemas (run npm run docs)', () => {
  assert.equal(withConfigReference(readme), readme);
});

test('the reference lists every field with its type, default and meaning', () => {
  const ref = configReference();
  assert.match(ref, /\| `data\.crop` \| integer > 0 \| `256` \| Square training crops/);
  assert.match(ref, /\| `optimizer\.name` \| sgd \\\| adam \\\| adamw \\\| radam \| `"adam"` \|/);
  assert.match(ref, /\| `out` \| string \| \*\*required\*\* \|/);
  assert.match(ref, /\| `augmentation\.hue\.range` \| \[number in \[-0\.5, 0\.5\], number in \[-0\.5, 0\.5\]\] \| `\[-0\.05,0\.05\]` \|/);
  assert.match(ref, /\| `tversky` \| alpha \(0\.3\), beta \(0\.7\)/);
  // no field without a meaning
  for (const line of ref.split('\n').filter((l) => l.startsWith('| `'))) assert.doesNotMatch(line, /\|\s*\|$/, line);
});
