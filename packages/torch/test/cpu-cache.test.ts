// The caching CPU allocator (native/cpu_cache.cc): freed blocks of 1 MB and more serve the next
// request of their size, the reused memory holds only what the new tensor writes, the footprint
// stays within the peak of live bytes, and GEOSEG_CPU_CACHE=0 turns it off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/index.js';

const MB = 2 ** 20;
// These run with the cache's defaults (npm run test:asan turns the cache off).
const defaults = process.env.GEOSEG_CPU_CACHE === undefined && process.env.GEOSEG_CPU_CACHE_SLACK === undefined;
const skip = defaults ? false : 'GEOSEG_CPU_CACHE or GEOSEG_CPU_CACHE_SLACK is set';

test('a freed large block serves the next tensor of its size, which sees only its own values', { skip }, () => {
  torch.emptyCpuCache();
  const s0 = torch.cpuCacheStats();
  assert.equal(s0.enabled, true);
  assert.equal(s0.cachedBytes, 0);
  const n = (4 * MB) / 4; // a 4 MB float32 tensor
  const a = torch.full([n], 7, { dtype: 'float32' });
  const s1 = torch.cpuCacheStats();
  assert.equal(s1.misses, s0.misses + 1);
  assert.ok(s1.liveBytes >= s0.liveBytes + 4 * MB);
  a.dispose();
  assert.equal(torch.cpuCacheStats().cachedBytes, 4 * MB, 'the freed block is kept');
  const b = torch.zeros([n]);
  const s2 = torch.cpuCacheStats();
  assert.equal(s2.hits, s1.hits + 1, 'the same size is served from the cache');
  assert.equal(s2.cachedBytes, 0);
  assert.equal(b.sum().item(), 0, 'zeros over reused memory are zeros');
  b.dispose();
  const c = torch.empty([n]).fill_(2); // empty: b's block again, then every element written
  assert.equal(torch.cpuCacheStats().hits, s2.hits + 1, 'b\'s block serves c');
  assert.equal(c.sum().item(), 2 * n);
  const d = torch.ones([n]); // a second live block of the size: from malloc
  assert.equal(torch.cpuCacheStats().misses, s1.misses + 1);
  assert.equal(d.sum().item(), n);
  torch.dispose([c, d]);
  // small tensors are not cached
  const before = torch.cpuCacheStats();
  torch.ones([1000]).dispose();
  assert.deepEqual({ ...torch.cpuCacheStats() }, { ...before });
  assert.equal(torch.cpuCacheStats().cachedBytes, 8 * MB, 'c and d are kept');
  assert.equal(torch.emptyCpuCache(), 8 * MB, 'and released');
  assert.equal(torch.cpuCacheStats().cachedBytes, 0);
});

test('the cache is released, not grown, when other sizes come: live + cached stays within the peak', { skip }, () => {
  torch.emptyCpuCache();
  const evictions = torch.cpuCacheStats().evictions;
  for (const size of [8, 16, 24, 32, 40, 48]) {
    // each size once at a time: the peak of live bytes stays at one block
    torch.empty([(size * MB) / 4]).dispose();
    const s = torch.cpuCacheStats();
    assert.ok(s.liveBytes + s.cachedBytes <= s.peakLiveBytes, `${size} MB: live ${s.liveBytes} + cached ${s.cachedBytes} ≤ peak ${s.peakLiveBytes}`);
  }
  assert.ok(torch.cpuCacheStats().evictions > evictions, 'blocks of other sizes were released');
  torch.emptyCpuCache();
});

test('when the sizes change, the blocks unused longest are released first: the new working set stays cached', { skip }, () => {
  torch.emptyCpuCache();
  const block = (mb: number) => torch.empty([(mb * MB) / 4]);
  // an earlier workload: six blocks live at once (the peak: 63 MB), then all freed and cached
  torch.dispose([8, 9, 10, 11, 12, 13].map(block));
  assert.equal(torch.cpuCacheStats().cachedBytes, 63 * MB);
  // a new one: 20, 21, 22 MB one after the other (63 MB of distinct blocks: just within the bound)
  const misses: number[] = [];
  for (let round = 0; round < 4; round++) {
    const before = torch.cpuCacheStats().misses;
    for (const mb of [20, 21, 22]) block(mb).dispose();
    misses.push(torch.cpuCacheStats().misses - before);
  }
  // released in another order (the new blocks before the old), every later round would miss again
  assert.deepEqual(misses, [3, 0, 0, 0]);
  const s = torch.cpuCacheStats();
  assert.ok(s.liveBytes + s.cachedBytes <= s.peakLiveBytes);
  torch.emptyCpuCache();
});

test('GEOSEG_CPU_CACHE=0 keeps libtorch\'s own allocator', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = `import * as torch from ${JSON.stringify(join(here, '..', 'src', 'index.ts'))};
    const t = torch.ones([2 ** 20]); t.dispose();
    console.log(JSON.stringify(torch.cpuCacheStats()));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, GEOSEG_CPU_CACHE: '0' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { enabled: false, hits: 0, misses: 0, evictions: 0, liveBytes: 0, cachedBytes: 0, peakLiveBytes: 0 });
});
