// Builds the native addon with node-gyp when its sources changed (or LIBTORCH changed).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(pkg, 'build', 'Release', 'torch_native.node');
const stampFile = join(pkg, 'build', 'libtorch.stamp');
const stamp = `LIBTORCH=${process.env.LIBTORCH ?? ''}`;

function newestSource() {
  const files = [join(pkg, 'binding.gyp'), join(pkg, 'scripts', 'libtorch-config.mjs')];
  for (const f of readdirSync(join(pkg, 'native'))) files.push(join(pkg, 'native', f));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

const upToDate = existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp &&
  statSync(addon).mtimeMs >= newestSource();
if (upToDate && !process.argv.includes('--force')) process.exit(0);

// Fail early with the one-line message if libtorch is missing.
execFileSync(process.execPath, [join(pkg, 'scripts', 'libtorch-config.mjs'), 'libdir'], { stdio: ['ignore', 'ignore', 'inherit'] });
const nodeGyp = join(dirname(createRequire(import.meta.url).resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
const jobs = String(Math.max(1, Math.min(2, (await import('node:os')).availableParallelism())));
// Build against the installed Node headers when they exist (no network to download them).
const nodedir = process.env.npm_config_nodedir ??
  (existsSync(join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h')) ? join(dirname(process.execPath), '..') : undefined);
const args = [nodeGyp, 'rebuild', '-j', jobs, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
try {
  execFileSync(process.execPath, args, { cwd: pkg, stdio: ['ignore', 'inherit', 'inherit'] });
} catch {
  process.stderr.write('@geoseg/torch: native build failed (see the compiler output above)\n');
  process.exit(1);
}
writeFileSync(stampFile, stamp);
