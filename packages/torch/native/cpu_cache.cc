// A caching CPU allocator. glibc serves large blocks with mmap and unmaps them when freed, so each
// large tensor a model step makes starts on fresh pages: the page faults of zeroing them cost as
// much system time as the arithmetic that fills them (a 2x3x512x512 HRNet training step: 1.6M
// faults, 3 s of system time in 5.6 s). Here freed blocks of 1 MB and more are kept by (rounded)
// size and handed to the next request of that size, which in a training or prediction loop is
// nearly every request after the first iteration. Smaller blocks go to malloc, which reuses them.
//
// The cache is bounded by what the process already needed: on a miss, cached blocks are released,
// the longest unused first, until live + cached + the new block ≤ the peak of live bytes so far
// (or the new block alone raises that peak). So the resident size stays at the plain allocator's
// peak instead of falling back between iterations, and a workload whose sizes change does not
// accumulate stale blocks: when the sizes change (a training step, then another model's
// forwards), the old workload's blocks go first and the new one's working set stays (released in
// no particular order, a UNet++ forward after a FactSeg step missed 17 blocks of every forward
// for good, 127k page faults each: 2.9 s instead of ~2.0).
// Measured on HRNet-W18 + OCR training steps at 2x3x512x512 (bench/context.ts): 4.6 s a step
// instead of 6.5, peak RSS +2%, 1 request in 15 missing (sizes come in another order than the
// last step's); GEOSEG_CPU_CACHE_SLACK=1.25 lets the footprint reach 1.25x the peak: no misses,
// 4.0 s, peak RSS +15-20%.
#include "cpu_cache.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace gt {
namespace {

constexpr size_t kMinCached = size_t(1) << 20;
constexpr size_t kMaxCached = size_t(1) << 48;  // 256 TiB: past it roundSize could overflow

// Round up to a multiple of 1/16 of the size's power of two (≤ 6.25% waste), so nearby sizes share.
size_t roundSize(size_t n) {
  size_t step = size_t(1) << 16;
  while ((step << 5) <= n) step <<= 1;
  return (n + step - 1) / step * step;
}

// GEOSEG_CPU_CACHE_SLACK: how far past the peak of live bytes the footprint may go (default 1:
// not past it; 1.25 trades a fifth more memory for no misses at all, see above).
double readSlack() {
  const char* env = std::getenv("GEOSEG_CPU_CACHE_SLACK");
  const double v = env ? std::atof(env) : 1.0;
  return v >= 1.0 && v <= 16.0 ? v : (v > 16.0 ? 16.0 : 1.0);  // NaN and below 1: 1
}

class CachingCpuAllocator final : public at::Allocator {
 public:
  at::DataPtr allocate(size_t n) const override {
    // small blocks (malloc reuses them) and absurd sizes (alloc_cpu's error) are not cached
    if (n < kMinCached || n > kMaxCached) {
      void* small = c10::alloc_cpu(n);
      return {small, small, &freeBlock, at::Device(at::DeviceType::CPU)};
    }
    const size_t size = roundSize(n);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        track(p, size);  // may throw (no memory for the map's node): the block stays cached
        it->second.pop_back();
        forget(p);
        cached_ -= size;
        hits_++;
        return {p, p, &freeBlock, at::Device(at::DeviceType::CPU)};
      }
      misses_++;
      // release cached blocks, the longest unused first, until the footprint with the new block
      // is within the bound
      while (!age_.empty() && live_ + cached_ + size > bound()) {
        const auto [blockSize, block] = age_.begin()->second;
        auto bucket = free_.find(blockSize);
        auto& blocks = bucket->second;
        blocks.erase(std::find(blocks.begin(), blocks.end(), block));  // a bucket's oldest is at its front
        if (blocks.empty()) free_.erase(bucket);
        forget(block);
        c10::free_cpu(block);
        cached_ -= blockSize;
        evictions_++;
      }
    }
    p = c10::alloc_cpu(size);  // throws on failure, before anything is counted
    try {
      std::lock_guard<std::mutex> lock(mu_);
      track(p, size);
    } catch (...) {
      c10::free_cpu(p);
      throw;
    }
    return {p, p, &freeBlock, at::Device(at::DeviceType::CPU)};
  }

  // Every block, cached kind or not, has this one deleter (the raw_deleter contract).
  at::DeleterFnPtr raw_deleter() const override { return &freeBlock; }

  CpuCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {true, hits_, misses_, evictions_, live_, cached_, peak_};
  }

  size_t empty() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t released = cached_;
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) c10::free_cpu(p);
    }
    free_.clear();
    age_.clear();
    tickOf_.clear();
    cached_ = 0;
    peak_ = live_;  // the bound starts over from what is live now
    return released;
  }

  static CachingCpuAllocator& instance() {
    static CachingCpuAllocator* a = new CachingCpuAllocator();  // never destroyed: tensors outlive statics
    return *a;
  }

 private:
  static void freeBlock(void* p) { instance().release(p); }

  // Count a large block as live (under mu_).
  void track(void* p, size_t size) const {
    sizes_.emplace(p, size);
    live_ += size;
    if (live_ > peak_) peak_ = live_;
  }

  // A cached block leaves the age order (under mu_).
  void forget(void* p) const {
    auto t = tickOf_.find(p);
    age_.erase(t->second);
    tickOf_.erase(t);
  }

  // Small blocks are not in sizes_: back to malloc. A deleter must not throw: if the cache cannot
  // take the block (no memory for its list), it goes back to malloc too.
  void release(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) {
      c10::free_cpu(p);
      return;
    }
    const size_t size = it->second;
    sizes_.erase(it);
    live_ -= size;
    const uint64_t tick = ++clock_;
    try {
      free_[size].push_back(p);
      age_.emplace(tick, std::make_pair(size, p));
      tickOf_.emplace(p, tick);
      cached_ += size;
    } catch (...) {  // no memory for a node: undo what was recorded; the block goes back to malloc
      auto bucket = free_.find(size);
      if (bucket != free_.end() && !bucket->second.empty() && bucket->second.back() == p) bucket->second.pop_back();
      age_.erase(tick);
      tickOf_.erase(p);
      c10::free_cpu(p);
    }
  }

  size_t bound() const { return static_cast<size_t>(static_cast<double>(peak_) * slack_); }
  const double slack_ = readSlack();
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;  // rounded size → cached blocks
  mutable std::unordered_map<void*, size_t> sizes_;             // live large blocks
  mutable std::map<uint64_t, std::pair<size_t, void*>> age_;     // cached blocks by when freed
  mutable std::unordered_map<void*, uint64_t> tickOf_;           // cached block → its key in age_
  mutable uint64_t clock_ = 0;
  mutable size_t live_ = 0, cached_ = 0, peak_ = 0;
  mutable uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

bool installed = false;

}  // namespace

void InstallCpuCache() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("GEOSEG_CPU_CACHE");
    if (env && std::strcmp(env, "0") == 0) return;
    // priority above the default allocator's registration
    c10::SetCPUAllocator(&CachingCpuAllocator::instance(), /*priority=*/1);
    // refused when another allocator was registered at a higher priority
    installed = c10::GetCPUAllocator() == &CachingCpuAllocator::instance();
  });
}

CpuCacheStats GetCpuCacheStats() {
  if (!installed) return {false, 0, 0, 0, 0, 0, 0};
  return CachingCpuAllocator::instance().stats();
}

size_t EmptyCpuCache() { return installed ? CachingCpuAllocator::instance().empty() : 0; }

}  // namespace gt
