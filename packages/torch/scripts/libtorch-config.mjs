// Finds libtorch for the native build and prints one gyp value.
// LIBTORCH=/path/to/libtorch (an official download, CPU or CUDA) wins; otherwise the system
// install (Debian's libtorch-dev). Usage: node libtorch-config.mjs include|libdir|abi|libs|summary
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function fail(message) {
  process.stderr.write(`@geoseg/torch: ${message}\n`);
  process.exit(1);
}

function multiarchLibDirs() {
  const dirs = [];
  try {
    const triple = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    if (triple) dirs.push(`/usr/lib/${triple}`);
  } catch { /* no gcc: fall through to the usual places */ }
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib');
  return dirs;
}

export function findLibtorch() {
  const root = process.env.LIBTORCH;
  if (root) {
    const include = join(root, 'include');
    const libdir = join(root, 'lib');
    if (!existsSync(join(include, 'ATen', 'ATen.h')) || !existsSync(join(libdir, 'libtorch.so'))) {
      fail(`LIBTORCH=${root} is not a libtorch folder (expected include/ATen/ATen.h and lib/libtorch.so); unset it to use the system libtorch or point it at an unpacked libtorch download`);
    }
    return { include, libdir, cmakeDir: join(root, 'share', 'cmake', 'Torch') };
  }
  if (existsSync('/usr/include/ATen/ATen.h')) {
    for (const libdir of multiarchLibDirs()) {
      if (existsSync(join(libdir, 'libtorch.so'))) {
        return { include: '/usr/include', libdir, cmakeDir: join(libdir, 'cmake', 'Torch') };
      }
    }
  }
  fail('libtorch not found: install it with `apt-get install libtorch-dev` (or run `npm run setup`), or set LIBTORCH=/path/to/libtorch');
}

function cxx11Abi(lt) {
  const cfg = join(lt.cmakeDir, 'TorchConfig.cmake');
  if (existsSync(cfg)) {
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(cfg, 'utf8'));
    if (m) return m[1];
  }
  // Without the cmake file, look at the mangled names libc10 exports.
  try {
    const syms = execFileSync('nm', ['-D', '--defined-only', join(lt.libdir, 'libc10.so')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return syms.includes('__cxx11') ? '1' : '0';
  } catch {
    return '1';
  }
}

function libs(lt) {
  const names = ['torch', 'torch_cpu', 'c10'];
  for (const optional of ['torch_cuda', 'c10_cuda']) {
    if (readdirSync(lt.libdir).includes(`lib${optional}.so`)) names.push(optional);
  }
  return names.map((n) => `-l${n}`).join(' ');
}

// c10d's Gloo backend needs gloo's headers (Debian: libtorch-dev's ProcessGroupGloo.hpp includes
// <gloo/...>, which libgloo-dev provides); NCCL's needs a CUDA libtorch and nccl.h.
function c10dHeader(lt, name) {
  return existsSync(join(lt.include, 'torch', 'csrc', 'distributed', 'c10d', name));
}
function gloo(lt) {
  const glooHeaders = [join(lt.include, 'gloo', 'config.h'), '/usr/include/gloo/config.h'].some((p) => existsSync(p));
  return c10dHeader(lt, 'ProcessGroupGloo.hpp') && glooHeaders ? '1' : '0';
}
function nccl(lt) {
  const cuda = readdirSync(lt.libdir).includes('libtorch_cuda.so');
  const ncclHeader = [join(lt.include, 'nccl.h'), '/usr/include/nccl.h', '/usr/local/cuda/include/nccl.h'].some((p) => existsSync(p));
  return cuda && ncclHeader && c10dHeader(lt, 'ProcessGroupNCCL.hpp') ? '1' : '0';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lt = findLibtorch();
  const what = process.argv[2];
  const out = {
    include: `${lt.include} ${join(lt.include, 'torch', 'csrc', 'api', 'include')}`,
    libdir: lt.libdir,
    abi: cxx11Abi(lt),
    libs: libs(lt),
    gloo: gloo(lt),
    nccl: nccl(lt),
    summary: JSON.stringify({ ...lt, abi: cxx11Abi(lt), libs: libs(lt), gloo: gloo(lt), nccl: nccl(lt) }),
  }[what];
  if (out === undefined) fail(`unknown query '${what}' (include|libdir|abi|libs|gloo|nccl|summary)`);
  process.stdout.write(out);
}
