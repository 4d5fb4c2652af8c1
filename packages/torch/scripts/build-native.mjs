// Builds the native addon with node-gyp when its sources changed (or LIBTORCH, or the distributed
// backends found).
//   --force  rebuild even when up to date
//   --asan   build an AddressSanitizer copy in build-asan/ (the normal addon is left alone); load
//            it with GEOSEG_TORCH_ADDON=<path> and the ASan runtime preloaded (scripts/test-asan.sh)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const asan = process.argv.includes('--asan');
// The ASan build runs in a copy of the package's build inputs, inside the package so that
// node-addon-api still resolves from the workspace's node_modules.
const root = asan ? join(pkg, 'build-asan') : pkg;
const addon = join(root, 'build', 'Release', 'torch_native.node');
const stampFile = join(root, 'build', 'libtorch.stamp');
// The distributed backends the build finds (gloo's headers installed later must rebuild it).
function probe(query) {
  try {
    return execFileSync(process.execPath, [join(pkg, 'scripts', 'libtorch-config.mjs'), query], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch {
    process.exit(1); // libtorch-config printed why (no libtorch)
  }
}
const backends = ['gloo', 'nccl'].map((q) => `${q}=${probe(q)}`).join(' ');
const stamp = `LIBTORCH=${process.env.LIBTORCH ?? ''} ${backends}${asan ? ' ASAN' : ''}`;

function newestSource() {
  const files = [join(pkg, 'binding.gyp'), join(pkg, 'scripts', 'libtorch-config.mjs')];
  for (const f of readdirSync(join(pkg, 'native'))) files.push(join(pkg, 'native', f));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

const upToDate = existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp &&
  statSync(addon).mtimeMs >= newestSource();
if (upToDate && !process.argv.includes('--force')) {
  if (asan) process.stdout.write(`${addon}\n`);
  process.exit(0);
}

if (asan) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const part of ['binding.gyp', 'native', 'scripts']) cpSync(join(pkg, part), join(root, part), { recursive: true });
}
// Fail early with the one-line message if libtorch is missing.
execFileSync(process.execPath, [join(pkg, 'scripts', 'libtorch-config.mjs'), 'libdir'], { stdio: ['ignore', 'ignore', 'inherit'] });
const nodeGyp = join(dirname(createRequire(import.meta.url).resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
const jobs = String(Math.max(1, Math.min(2, (await import('node:os')).availableParallelism())));
// Build against the installed Node headers when they exist (no network to download them).
const nodedir = process.env.npm_config_nodedir ??
  (existsSync(join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h')) ? join(dirname(process.execPath), '..') : undefined);
const args = [nodeGyp, 'rebuild', '-j', jobs, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
try {
  execFileSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', asan ? 'ignore' : 'inherit', 'inherit'],
    env: { ...process.env, TORCH_NATIVE_ASAN: asan ? '1' : '0' },
  });
} catch {
  process.stderr.write('@geoseg/torch: native build failed (see the compiler output above)\n');
  process.exit(1);
}
writeFileSync(stampFile, stamp);
if (asan) process.stdout.write(`${addon}\n`);
