// The caching CPU allocator (cpu_cache.cc).
#pragma once
#include <cstddef>
#include <cstdint>

namespace gt {

struct CpuCacheStats {
  bool enabled;
  uint64_t hits, misses, evictions;
  size_t liveBytes, cachedBytes, peakLiveBytes;
};

// Installs the allocator as libtorch's CPU allocator, once per process (GEOSEG_CPU_CACHE=0: never).
void InstallCpuCache();
CpuCacheStats GetCpuCacheStats();
// Hands every cached block back to the C library; returns the bytes released.
size_t EmptyCpuCache();

}  // namespace gt
