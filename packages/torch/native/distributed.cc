// c10d, PyTorch's distributed engine: the TCPStore rendezvous, ProcessGroupGloo (and
// ProcessGroupNCCL in a CUDA build that has it), collectives with their Work handles. Compiled
// with GEOSEG_GLOO when gloo's headers are present (Debian: libgloo-dev); without it every entry
// point reports that this build has no distributed backend.
#include "distributed.h"

#include <chrono>
#include <mutex>
#include <vector>

#include <torch/csrc/autograd/custom_function.h>

#include "common.h"
#include "tensors.h"

#if GEOSEG_GLOO
#define USE_C10D_GLOO  // what libtorch's build defines; its headers test for it
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if GEOSEG_NCCL
#define USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace gt {
namespace {

#if GEOSEG_GLOO

struct StoreHolder {
  c10::intrusive_ptr<c10d::Store> store;
};
struct GroupHolder {
  c10::intrusive_ptr<c10d::ProcessGroup> group;
};
struct WorkHolder {
  c10::intrusive_ptr<c10d::Work> work;
};

template <typename T>
Napi::External<T> wrap(Napi::Env env, T* holder) {
  return Napi::External<T>::New(env, holder, [](Napi::Env, T* h) { delete h; });
}

template <typename T>
T* unwrap(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) throw Napi::TypeError::New(env, std::string(what) + ": expected a handle");
  return v.As<Napi::External<T>>().Data();
}

std::chrono::milliseconds millis(const Napi::Value& v) { return std::chrono::milliseconds(static_cast<int64_t>(v.As<Napi::Number>().DoubleValue())); }

std::vector<at::Tensor> tensorList(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + ": expected an array of tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(expectTensor(env, arr.Get(i), what));
  return out;
}

c10d::ReduceOp reduceOp(Napi::Env env, const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::TypeError::New(env, "allReduce: unknown op '" + name + "' (sum, max, min, product)");
}

// A Work handle, or its completion when `wait` (then errors surface here).
Napi::Value finish(Napi::Env env, c10::intrusive_ptr<c10d::Work> work, bool wait, const char* what) {
  if (!wait) return wrap(env, new WorkHolder{std::move(work)});
  guarded(env, what, [&] { work->wait(); });
  return env.Undefined();
}

// tcpStore(host, port, isServer, worldSize, timeoutMs)
Napi::Value TcpStore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  opts.isServer = info[2].As<Napi::Boolean>().Value();
  opts.numWorkers = static_cast<size_t>(info[3].As<Napi::Number>().Uint32Value());
  opts.waitWorkers = false;  // the process group's own rendezvous waits for every rank
  opts.timeout = millis(info[4]);
  std::string host = info[0].As<Napi::String>().Utf8Value();
  auto store = guarded(env, "TCPStore", [&] { return c10::make_intrusive<c10d::TCPStore>(host, opts); });
  return wrap(env, new StoreHolder{store});
}

Napi::Value StorePort(const Napi::CallbackInfo& info) {
  auto* s = unwrap<StoreHolder>(info.Env(), info[0], "store.port");
  auto* tcp = dynamic_cast<c10d::TCPStore*>(s->store.get());
  return Napi::Number::New(info.Env(), tcp ? tcp->getPort() : 0);
}

Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "store.set");
  auto buf = info[2].As<Napi::Buffer<uint8_t>>();
  std::vector<uint8_t> value(buf.Data(), buf.Data() + buf.Length());
  guarded(env, "store.set", [&] { s->store->set(info[1].As<Napi::String>().Utf8Value(), value); });
  return env.Undefined();
}

Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "store.get");
  auto value = guarded(env, "store.get", [&] { return s->store->get(info[1].As<Napi::String>().Utf8Value()); });
  return Napi::Buffer<uint8_t>::Copy(env, value.data(), value.size());
}

Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "store.add");
  int64_t by = info[2].As<Napi::Number>().Int64Value();
  auto v = guarded(env, "store.add", [&] { return s->store->add(info[1].As<Napi::String>().Utf8Value(), by); });
  return Napi::Number::New(env, static_cast<double>(v));
}

std::vector<std::string> keyList(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < arr.Length(); i++) keys.push_back(arr.Get(i).As<Napi::String>().Utf8Value());
  return keys;
}

Napi::Value StoreCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "store.check");
  auto keys = keyList(info[1]);
  return Napi::Boolean::New(env, guarded(env, "store.check", [&] { return s->store->check(keys); }));
}

Napi::Value StoreWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "store.wait");
  auto keys = keyList(info[1]);
  guarded(env, "store.wait", [&] { s->store->wait(keys, millis(info[2])); });
  return env.Undefined();
}

Napi::Value StoreDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "store.delete");
  return Napi::Boolean::New(env, guarded(env, "store.delete", [&] { return s->store->deleteKey(info[1].As<Napi::String>().Utf8Value()); }));
}

// newGloo(store, rank, size, timeoutMs, iface, hostname): the full-mesh rendezvous through the
// store; blocks until every rank has joined, or throws when the timeout passes.
Napi::Value NewGloo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "initProcessGroup");
  int rank = info[1].As<Napi::Number>().Int32Value();
  int size = info[2].As<Napi::Number>().Int32Value();
  auto opts = c10d::ProcessGroupGloo::Options::create(millis(info[3]));
  std::string iface = info[4].As<Napi::String>().Utf8Value();
  std::string hostname = info[5].As<Napi::String>().Utf8Value();
  auto group = guarded(env, "initProcessGroup", [&] {
    opts->devices.push_back(!iface.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                            : !hostname.empty() ? c10d::ProcessGroupGloo::createDeviceForHostname(hostname)
                                                : c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(s->store, rank, size, opts);
  });
  return wrap(env, new GroupHolder{group});
}

#if GEOSEG_NCCL
Napi::Value NewNccl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = unwrap<StoreHolder>(env, info[0], "initProcessGroup");
  int rank = info[1].As<Napi::Number>().Int32Value();
  int size = info[2].As<Napi::Number>().Int32Value();
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = millis(info[3]);
  auto group = guarded(env, "initProcessGroup", [&] { return c10::make_intrusive<c10d::ProcessGroupNCCL>(s->store, rank, size, opts); });
  return wrap(env, new GroupHolder{group});
}
#endif

// allReduce(group, tensors, op, wait): in place.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* g = unwrap<GroupHolder>(env, info[0], "allReduce");
  auto tensors = tensorList(env, info[1], "allReduce");
  c10d::AllreduceOptions opts;
  opts.reduceOp = reduceOp(env, info[2].As<Napi::String>().Utf8Value());
  auto work = guarded(env, "allReduce", [&] { return g->group->allreduce(tensors, opts); });
  return finish(env, work, info[3].As<Napi::Boolean>().Value(), "allReduce");
}

// broadcast(group, tensors, root, wait): in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* g = unwrap<GroupHolder>(env, info[0], "broadcast");
  auto tensors = tensorList(env, info[1], "broadcast");
  c10d::BroadcastOptions opts;
  opts.rootRank = info[2].As<Napi::Number>().Int64Value();
  auto work = guarded(env, "broadcast", [&] { return g->group->broadcast(tensors, opts); });
  return finish(env, work, info[3].As<Napi::Boolean>().Value(), "broadcast");
}

// allGather(group, outputs, input, wait): outputs[r] receives rank r's input.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* g = unwrap<GroupHolder>(env, info[0], "allGather");
  std::vector<std::vector<at::Tensor>> outputs{tensorList(env, info[1], "allGather")};
  std::vector<at::Tensor> inputs{expectTensor(env, info[2], "allGather")};
  auto work = guarded(env, "allGather", [&] { return g->group->allgather(outputs, inputs); });
  return finish(env, work, info[3].As<Napi::Boolean>().Value(), "allGather");
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* g = unwrap<GroupHolder>(env, info[0], "barrier");
  auto work = guarded(env, "barrier", [&] { return g->group->barrier(); });
  return finish(env, work, info[1].As<Napi::Boolean>().Value(), "barrier");
}

// workWait(work, timeoutMs): 0 waits as long as the group's timeout allows.
Napi::Value WorkWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = unwrap<WorkHolder>(env, info[0], "work.wait");
  double ms = info[1].As<Napi::Number>().DoubleValue();
  guarded(env, "work.wait", [&] { ms > 0 ? w->work->wait(std::chrono::milliseconds(static_cast<int64_t>(ms))) : w->work->wait(); });
  return env.Undefined();
}

Napi::Value WorkIsCompleted(const Napi::CallbackInfo& info) {
  auto* w = unwrap<WorkHolder>(info.Env(), info[0], "work.isCompleted");
  return Napi::Boolean::New(info.Env(), w->work->isCompleted());
}

// Synchronized batch norm (as PyTorch's SyncBatchNorm): the batch statistics of every rank's
// input, summed in float64 across the group; in backward, the sums of the output gradient and of
// its product with (x − mean) likewise, so each rank's input gradient is that of the whole batch.
// Weight and bias gradients stay local (the data-parallel average divides them by the ranks).
struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, at::Tensor weight, at::Tensor bias,
                            at::Tensor runningMean, at::Tensor runningVar, double momentum, double eps, int64_t groupId) {
    auto* group = reinterpret_cast<c10d::ProcessGroup*>(groupId);
    const int64_t channels = x.size(1);
    std::vector<int64_t> dims{0, 2, 3};
    at::Tensor xd = x.to(at::kDouble);
    at::Tensor stats = at::cat({xd.sum(dims), (xd * xd).sum(dims), at::full({1}, double(x.numel() / channels), xd.options())});
    std::vector<at::Tensor> buf{stats};
    group->allreduce(buf)->wait();
    const double total = stats[2 * channels].item<double>();
    TORCH_CHECK(total > 1, "expected more than 1 value per channel when training, got ", total, " across the process group");
    at::Tensor mean = stats.narrow(0, 0, channels) / total;
    at::Tensor var = (stats.narrow(0, channels, channels) / total - mean * mean).clamp_min(0);
    at::Tensor invstd = (var + eps).rsqrt();
    if (runningMean.defined()) {
      at::NoGradGuard guard;
      runningMean.mul_(1 - momentum).add_(mean.to(runningMean.scalar_type()), momentum);
      runningVar.mul_(1 - momentum).add_((var * (total / std::max(total - 1, 1.0))).to(runningVar.scalar_type()), momentum);
    }
    at::Tensor meanF = mean.to(x.scalar_type()).view({1, channels, 1, 1});
    at::Tensor invstdF = invstd.to(x.scalar_type()).view({1, channels, 1, 1});
    at::Tensor xhat = (x - meanF) * invstdF;
    at::Tensor out = weight.defined() ? xhat * weight.view({1, channels, 1, 1}) + bias.view({1, channels, 1, 1}) : xhat;
    ctx->save_for_backward({x, weight, meanF, invstdF});
    ctx->saved_data["total"] = total;
    ctx->saved_data["group"] = groupId;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor x = saved[0], weight = saved[1], mean = saved[2], invstd = saved[3];
    auto* group = reinterpret_cast<c10d::ProcessGroup*>(ctx->saved_data["group"].toInt());
    const double total = ctx->saved_data["total"].toDouble();
    at::Tensor dy = grads[0];
    const int64_t channels = x.size(1);
    std::vector<int64_t> dims{0, 2, 3};
    at::Tensor xmu = x - mean;
    at::Tensor sumDy = dy.sum(dims), sumDyXmu = (dy * xmu).sum(dims);
    at::Tensor sums = at::cat({sumDy, sumDyXmu}).to(at::kDouble);
    std::vector<at::Tensor> buf{sums};
    group->allreduce(buf)->wait();
    at::Tensor meanDy = (sums.narrow(0, 0, channels) / total).to(x.scalar_type()).view({1, channels, 1, 1});
    at::Tensor meanDyXmu = (sums.narrow(0, channels, channels) / total).to(x.scalar_type()).view({1, channels, 1, 1});
    at::Tensor scale = weight.defined() ? invstd * weight.view({1, channels, 1, 1}) : invstd;
    at::Tensor dx = (dy - meanDy - xmu * invstd * invstd * meanDyXmu) * scale;
    at::Tensor dw = weight.defined() ? sumDyXmu * invstd.view({channels}) : at::Tensor();
    at::Tensor db = weight.defined() ? sumDy : at::Tensor();
    return {dx, dw, db, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The groups a synchronized batch norm has used, kept alive for the life of the process: its
// autograd nodes hold the group by address, and a backward may run after the JS side let go.
std::mutex keptGroupsMutex;
std::vector<c10::intrusive_ptr<c10d::ProcessGroup>> keptGroups;

void keepGroup(const c10::intrusive_ptr<c10d::ProcessGroup>& g) {
  std::lock_guard<std::mutex> lock(keptGroupsMutex);
  for (const auto& k : keptGroups) if (k.get() == g.get()) return;
  keptGroups.push_back(g);
}

// syncBatchNorm(group, x, weight|null, bias|null, runningMean|null, runningVar|null, momentum, eps)
Napi::Value SyncBatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* g = unwrap<GroupHolder>(env, info[0], "syncBatchNorm");
  keepGroup(g->group);
  auto optional = [&](size_t i) { return info[i].IsNull() || info[i].IsUndefined() ? at::Tensor() : expectTensor(env, info[i], "syncBatchNorm"); };
  at::Tensor x = expectTensor(env, info[1], "syncBatchNorm");
  double momentum = info[6].As<Napi::Number>().DoubleValue();
  double eps = info[7].As<Napi::Number>().DoubleValue();
  auto out = guarded(env, "syncBatchNorm", [&] {
    return SyncBatchNormFunction::apply(x, optional(2), optional(3), optional(4), optional(5), momentum, eps,
                                        reinterpret_cast<int64_t>(g->group.get()));
  });
  return wrapTensor(env, out);
}

#endif  // GEOSEG_GLOO

}  // namespace

#if GEOSEG_GLOO
c10::intrusive_ptr<c10d::ProcessGroup> expectGroup(Napi::Env env, const Napi::Value& v, const char* what) {
  return unwrap<GroupHolder>(env, v, what)->group;
}
#endif

namespace {

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("gloo", Napi::Boolean::New(info.Env(), GEOSEG_GLOO != 0));
  // NCCL's group is built on the TCPStore, which comes with the Gloo part of this file
  out.Set("nccl", Napi::Boolean::New(info.Env(), GEOSEG_GLOO != 0 && GEOSEG_NCCL != 0));
  return out;
}

}  // namespace

void InitDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object d = Napi::Object::New(env);
  d.Set("backends", Napi::Function::New(env, Backends));
#if GEOSEG_GLOO
  d.Set("tcpStore", Napi::Function::New(env, TcpStore));
  d.Set("storePort", Napi::Function::New(env, StorePort));
  d.Set("storeSet", Napi::Function::New(env, StoreSet));
  d.Set("storeGet", Napi::Function::New(env, StoreGet));
  d.Set("storeAdd", Napi::Function::New(env, StoreAdd));
  d.Set("storeCheck", Napi::Function::New(env, StoreCheck));
  d.Set("storeWait", Napi::Function::New(env, StoreWait));
  d.Set("storeDelete", Napi::Function::New(env, StoreDelete));
  d.Set("newGloo", Napi::Function::New(env, NewGloo));
#if GEOSEG_NCCL
  d.Set("newNccl", Napi::Function::New(env, NewNccl));
#endif
  d.Set("allReduce", Napi::Function::New(env, AllReduce));
  d.Set("broadcast", Napi::Function::New(env, Broadcast));
  d.Set("allGather", Napi::Function::New(env, AllGather));
  d.Set("barrier", Napi::Function::New(env, Barrier));
  d.Set("workWait", Napi::Function::New(env, WorkWait));
  d.Set("workIsCompleted", Napi::Function::New(env, WorkIsCompleted));
  d.Set("syncBatchNorm", Napi::Function::New(env, SyncBatchNorm));
  d.Set("backwardAveraged", Napi::Function::New(env, BackwardAveraged));
#endif
  exports.Set("distributed", d);
}

}  // namespace gt
