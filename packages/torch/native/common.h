// Shared pieces of the native addon: per-environment data, dtype names, error conversion.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>
#include <ATen/core/stack.h>

namespace gt {

// A JS Tensor holds a handle: its slot in the tensor table in the low kSlotBits bits and the
// slot's generation above them, as a double (exact below 2^53). Releasing a slot bumps its
// generation, so a handle that outlived its tensor (a finalizer after dispose, a copied id) can
// never reach the slot's next tensor: it reads as disposed.
constexpr int kSlotBits = 24;
constexpr uint64_t kMaxSlots = uint64_t(1) << kSlotBits;
constexpr uint64_t kMaxGeneration = (uint64_t(1) << (53 - kSlotBits)) - 1;

// Everything the addon keeps per Node environment (main thread or worker).
struct AddonData {
  // The tensor table: a JS Tensor holds a handle to a slot of `slots` (under a private symbol
  // key). Plain JS objects are far cheaper to make than wrapped native objects, which keeps the
  // per-op overhead below Python's. Never keep a pointer into `slots` across a call into JS:
  // JS code can make tensors, and the vector grows.
  std::vector<at::Tensor> slots;
  std::vector<uint64_t> generations;  // per slot, see kSlotBits
  std::vector<int64_t> slotBytes;  // bytes reported to V8 for each slot
  std::vector<uint32_t> freeSlots;
  int64_t liveTensors = 0;
  int64_t createdTensors = 0;
  int64_t reportedBytes = 0;  // CPU bytes of live slots' storages
  int64_t pendingBytes = 0;   // change not yet reported to V8
  napi_ref idKey = nullptr;     // the Symbol under which a JS Tensor keeps its slot id
  napi_ref makeTensor = nullptr;  // JS function (id) => Tensor
  // Shared with JS (a Float64Array): [0] is 1 when a call returned a bare tensor handle; [1 + i]
  // is the handle of positional argument i for callGroupIds (-1 disposed tensor, -2 not a tensor).
  double* shared = nullptr;
  napi_ref sharedRef = nullptr;
  // Argument stacks reused by op calls, one per nesting depth: reading an argument can run JS
  // (a getter, a Proxy trap) that calls ops itself. A deque keeps references stable as it grows.
  std::deque<torch::jit::Stack> stacks;
  size_t callDepth = 0;
};

// The live tensor behind handle h, or nullptr when h is stale, disposed or not a handle.
inline at::Tensor* slotFor(AddonData* d, double h) {
  if (!(h >= 0) || h >= 9007199254740992.0) return nullptr;
  uint64_t u = static_cast<uint64_t>(h);
  if (static_cast<double>(u) != h) return nullptr;
  uint64_t slot = u & (kMaxSlots - 1);
  if (slot >= d->slots.size() || d->generations[slot] != (u >> kSlotBits) || !d->slots[slot].defined()) return nullptr;
  return &d->slots[slot];
}

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
