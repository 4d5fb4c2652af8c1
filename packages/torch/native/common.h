// Shared pieces of the native addon: per-environment data, dtype names, error conversion.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>
#include <ATen/core/stack.h>

namespace gt {

// Everything the addon keeps per Node environment (main thread or worker).
struct AddonData {
  // The tensor table: a JS Tensor holds an index into `slots` (under a private symbol key).
  // Plain JS objects are far cheaper to make than wrapped native objects, which keeps the
  // per-op overhead below Python's.
  std::vector<at::Tensor> slots;
  std::vector<int64_t> slotBytes;  // bytes reported to V8 for each slot
  std::vector<int32_t> freeSlots;
  int64_t liveTensors = 0;
  int64_t createdTensors = 0;
  int64_t reportedBytes = 0;  // CPU bytes of live slots' storages
  int64_t pendingBytes = 0;   // change not yet reported to V8
  napi_ref idKey = nullptr;     // the Symbol under which a JS Tensor keeps its slot id
  napi_ref makeTensor = nullptr;  // JS function (id) => Tensor
  // Shared with JS: [0] is 1 when a call returned a bare tensor id; [1 + i] is the slot id of
  // positional argument i for callGroupIds (-1 disposed tensor, -2 not a tensor).
  int32_t* shared = nullptr;
  napi_ref sharedRef = nullptr;
  torch::jit::Stack stack;  // reused by every op call (no allocation per call)
};

inline AddonData* data(napi_env env) {
  void* p = nullptr;
  napi_get_instance_data(env, &p);
  return static_cast<AddonData*>(p);
}

bool dtypeFromName(const std::string& name, c10::ScalarType* out);
const char* dtypeName(c10::ScalarType t);
std::string jsTypeName(napi_env env, napi_value v);

// Run fn, turning libtorch (c10::Error) and std exceptions into JS errors prefixed by `where`.
template <typename F>
auto guarded(Napi::Env env, const std::string& where, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, where + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, where + ": " + e.what());
  }
}

}  // namespace gt
