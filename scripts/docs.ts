// `npm run docs`: regenerate the README's configuration reference from the zod schemas.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withConfigReference } from '../packages/geoseg/src/train/config-reference.js';

const readme = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
const before = readFileSync(readme, 'utf8');
const after = withConfigReference(before);
if (after !== before) writeFileSync(readme, after);
console.log(after === before ? 'README.md: configuration reference up to date' : 'README.md: configuration reference regenerated');
