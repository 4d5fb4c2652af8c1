// Entry point of the native addon: registers the Tensor class, operator calls, autograd modes,
// RNG, threads, serialization and memory statistics.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/version.h>

#include <sstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"
#include "cpu_cache.h"
#include "distributed.h"
#include "flops.h"
#include "ops.h"
#include "serialize.h"
#include "tensors.h"

namespace gt {
namespace {

// withGradMode(enabled, fn): runs fn synchronously with autograd recording on or off.
Napi::Value WithGradMode(const Napi::CallbackInfo& info) {
  c10::AutoGradMode guard(info[0].As<Napi::Boolean>().Value());
  return info[1].As<Napi::Function>().Call({});
}

Napi::Value WithInferenceMode(const Napi::CallbackInfo& info) {
  c10::InferenceMode guard(info.Length() < 2 || info[1].As<Napi::Boolean>().Value());
  return info[0].As<Napi::Function>().Call({});
}

// One device's autocast state: on or off, and its lower precision.
struct AutocastState {
  bool enabled;
  c10::ScalarType dtype;
};

AutocastState getAutocast(bool cuda) {
  return cuda ? AutocastState{at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()}
              : AutocastState{at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
}

void setAutocast(bool cuda, AutocastState s) {
  if (cuda) {
    at::autocast::set_enabled(s.enabled);
    at::autocast::set_autocast_gpu_dtype(s.dtype);
  } else {
    at::autocast::set_cpu_enabled(s.enabled);
    at::autocast::set_autocast_cpu_dtype(s.dtype);
  }
}

// withAutocast(enabled, dtype, fn, device = 'cpu'): runs fn with autocast on (ops on the
// autocast lists run in dtype) or off for the device ('cpu' or 'cuda'), restoring the previous
// state; the cast-weight cache is cleared when the outermost autocast region ends, as
// torch.autocast does.
Napi::Value WithAutocast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool enabled = info[0].As<Napi::Boolean>().Value();
  c10::ScalarType dtype;
  if (!dtypeFromName(info[1].As<Napi::String>().Utf8Value(), &dtype)) throw Napi::TypeError::New(env, "autocast: unknown dtype");
  const bool cuda = info.Length() > 3 && info[3].IsString() && info[3].As<Napi::String>().Utf8Value() == "cuda";
  struct Restore {
    bool cuda;
    AutocastState before;
    ~Restore() {
      if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
      setAutocast(cuda, before);
    }
  } restore{cuda, getAutocast(cuda)};
  setAutocast(cuda, {enabled, dtype});
  at::autocast::increment_nesting();
  return info[2].As<Napi::Function>().Call({});
}

// isAutocastEnabled(device = 'cpu')
Napi::Value IsAutocastEnabled(const Napi::CallbackInfo& info) {
  const bool cuda = info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "cuda";
  return Napi::Boolean::New(info.Env(), cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled());
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }
Napi::Value IsInferenceMode(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), c10::InferenceMode::is_enabled()); }

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t seed;
  if (info[0].IsBigInt()) {
    bool lossless;
    seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  } else {
    seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  }
  guarded(env, "manualSeed", [&] { at::manual_seed(seed); });
  return env.Undefined();
}

Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrapTensor(info.Env(), gen.get_state());
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& state = expectTensor(env, info[0], "setRngState");
  auto gen = at::detail::getDefaultCPUGenerator();
  guarded(env, "setRngState", [&] {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  });
  return env.Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread, got " + std::to_string(n));
  at::set_num_threads(n);
  return info.Env().Undefined();
}

// setMallocArenaMax(n): glibc keeps one heap (arena) per thread that allocates; libtorch's worker
// threads then each hold their own high-water mark of freed activations. Fewer arenas bound that
// (arenas made before the call stay). Returns false where the C library is not glibc.
Napi::Value SetMallocArenaMax(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setMallocArenaMax: need at least 1 arena, got " + std::to_string(n));
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), mallopt(M_ARENA_MAX, n) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// mallocTrim(): hand freed heap pages back to the system (glibc's malloc_trim); false elsewhere.
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  bool has = at::detail::getCUDAHooks().hasCUDA();
  o.Set("available", has);
  o.Set("deviceCount", has ? at::detail::getCUDAHooks().getNumGPUs() : 0);
  return o;
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  AddonData* d = data(info.Env());
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("liveTensors", static_cast<double>(d->liveTensors));
  o.Set("createdTensors", static_cast<double>(d->createdTensors));
  o.Set("externalBytes", static_cast<double>(d->reportedBytes));
  return o;
}

// cpuCacheStats(): the caching CPU allocator's counters (cpu_cache.cc).
Napi::Value CpuCacheStatsJs(const Napi::CallbackInfo& info) {
  const CpuCacheStats s = GetCpuCacheStats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("enabled", s.enabled);
  o.Set("hits", static_cast<double>(s.hits));
  o.Set("misses", static_cast<double>(s.misses));
  o.Set("evictions", static_cast<double>(s.evictions));
  o.Set("liveBytes", static_cast<double>(s.liveBytes));
  o.Set("cachedBytes", static_cast<double>(s.cachedBytes));
  o.Set("peakLiveBytes", static_cast<double>(s.peakLiveBytes));
  return o;
}

Napi::Value EmptyCpuCacheJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(EmptyCpuCache())); }

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("version", TORCH_VERSION);
  o.Set("config", at::show_config());
  o.Set("parallel", at::get_parallel_info());
  o.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  return o;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  InstallCpuCache();
  InitTensorFunctions(env, exports);
  InitScriptModule(env, exports);
  InitDistributed(env, exports);
  RegisterFlops(env, exports);
  exports.Set("opGroup", Napi::Function::New(env, OpGroup));
  {
    napi_value fn;
    napi_create_function(env, "callGroup", NAPI_AUTO_LENGTH, CallGroupRaw, nullptr, &fn);
    exports.Set("callGroup", Napi::Value(env, fn));
    napi_create_function(env, "callGroupIds", NAPI_AUTO_LENGTH, CallGroupIdsRaw, nullptr, &fn);
    exports.Set("callGroupIds", Napi::Value(env, fn));
  }
  exports.Set("listSchemas", Napi::Function::New(env, ListSchemas));
  exports.Set("withGradMode", Napi::Function::New(env, WithGradMode));
  exports.Set("withInferenceMode", Napi::Function::New(env, WithInferenceMode));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("withAutocast", Napi::Function::New(env, WithAutocast));
  exports.Set("isAutocastEnabled", Napi::Function::New(env, IsAutocastEnabled));
  exports.Set("isInferenceMode", Napi::Function::New(env, IsInferenceMode));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("getRngState", Napi::Function::New(env, GetRngState));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("setMallocArenaMax", Napi::Function::New(env, SetMallocArenaMax));
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim));
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("cpuCacheStats", Napi::Function::New(env, CpuCacheStatsJs));
  exports.Set("emptyCpuCache", Napi::Function::New(env, EmptyCpuCacheJs));
  exports.Set("pickleSave", Napi::Function::New(env, PickleSave));
  return exports;
}

}  // namespace gt

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return gt::Init(env, exports); }
NODE_API_MODULE(torch_native, InitAddon)
