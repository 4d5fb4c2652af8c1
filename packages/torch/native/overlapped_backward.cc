// Data-parallel backward with communication overlapping computation, the mechanism of PyTorch's
// DDP reducer (whose own class libtorch does not ship headers for): a post-hook on each
// parameter's gradient accumulator marks the parameter ready when autograd has written its
// gradient; when every parameter of the next bucket is ready, the bucket's gradients are flattened
// and its all-reduce starts in c10d's threads while autograd goes on with the layers below.
// Buckets start strictly in their order, so every rank issues the same collectives in the same
// sequence whatever order its gradients arrive in.
//
// Parameters the loss's graph does not reach are ready from the start (DDP's
// find_unused_parameters), so an unused head does not hold back the buckets after it. Each
// bucket also sums, per parameter, how many ranks had a gradient for it: a parameter with a
// gradient on some rank gets the average (its absent gradients counted as zeros) on every rank,
// one with a gradient nowhere stays without one everywhere, so the ranks never step apart.
#include "distributed.h"

#if GEOSEG_GLOO
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "common.h"
#include "tensors.h"

namespace gt {
namespace {

using torch::autograd::Node;

struct Bucket {
  std::vector<size_t> members;
  size_t waiting = 0;  // members whose gradient has not arrived yet
  at::Tensor flat;     // the members' gradients, then one "had a gradient" count per member
  c10::intrusive_ptr<c10d::Work> work;
};

// What the hooks share with the call that made them. The hooks hold it by shared_ptr: after a
// failed backward (on CUDA a device thread may still be running nodes) they are left in place,
// closed, rather than removed under a running engine.
class Reduction {
 public:
  Reduction(c10::intrusive_ptr<c10d::ProcessGroup> group, std::vector<at::Tensor> params, const std::vector<std::vector<size_t>>& members)
      : group_(std::move(group)), params_(std::move(params)), ready_(params_.size(), false), bucketOf_(params_.size(), 0) {
    std::vector<bool> placed(params_.size(), false);
    for (size_t b = 0; b < members.size(); b++) {
      Bucket bucket;
      for (size_t i : members[b]) {
        TORCH_CHECK(i < params_.size() && !placed[i], "bucket ", b, " names parameter ", i, ", which is not a parameter or is in another bucket");
        placed[i] = true;
        bucketOf_[i] = b;
        bucket.members.push_back(i);
      }
      bucket.waiting = bucket.members.size();
      buckets_.push_back(std::move(bucket));
    }
    for (size_t i = 0; i < params_.size(); i++) TORCH_CHECK(placed[i], "parameter ", i, " is in no bucket");
  }

  const std::vector<at::Tensor>& params() const { return params_; }

  void ready(size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    TORCH_CHECK(!ready_[i], "parameter ", i, " received its gradient twice in one backward");
    ready_[i] = true;
    buckets_[bucketOf_[i]].waiting--;
    while (next_ < buckets_.size() && buckets_[next_].waiting == 0) start(buckets_[next_++]);
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }

  struct Result {
    double waitSeconds;
    size_t startedBefore;  // buckets started before backward returned
  };

  // After backward has returned: start what is left, wait, average, copy back.
  Result finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    const size_t startedBefore = next_;
    while (next_ < buckets_.size()) start(buckets_[next_++]);
    auto t0 = std::chrono::steady_clock::now();
    for (auto& bucket : buckets_) bucket.work->wait();
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    at::NoGradGuard noGrad;
    const double world = group_->getSize();
    for (auto& bucket : buckets_) {
      const int64_t m = static_cast<int64_t>(bucket.members.size());
      at::Tensor counts = bucket.flat.narrow(0, bucket.flat.numel() - m, m).to(at::kDouble).cpu();
      const double* had = counts.data_ptr<double>();
      bucket.flat.div_(world);
      int64_t offset = 0;
      for (int64_t k = 0; k < m; k++) {
        const at::Tensor& p = params_[bucket.members[k]];
        const int64_t n = p.numel();
        at::Tensor averaged = bucket.flat.narrow(0, offset, n).view(p.sizes());
        at::Tensor& grad = p.mutable_grad();
        if (grad.defined()) grad.copy_(averaged);
        else if (had[k] > 0) grad = averaged.clone();  // another rank's gradient, averaged with this rank's zeros
        offset += n;
      }
    }
    return {waited, startedBefore};
  }

 private:
  void start(Bucket& bucket) {
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> parts;
    parts.reserve(bucket.members.size() + 1);
    std::vector<double> had;
    for (size_t i : bucket.members) {
      const at::Tensor& grad = params_[i].grad();
      parts.push_back(grad.defined() ? grad.reshape({-1}) : at::zeros({params_[i].numel()}, params_[i].options()));
      had.push_back(grad.defined() ? 1 : 0);
    }
    const auto& like = parts.front();
    parts.push_back(at::tensor(had, at::TensorOptions().dtype(at::kDouble)).to(like.options()));
    bucket.flat = at::cat(parts);
    std::vector<at::Tensor> tensors{bucket.flat};
    bucket.work = group_->allreduce(tensors);  // SUM
  }

  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  std::vector<bool> ready_;
  std::vector<size_t> bucketOf_;
  std::vector<Bucket> buckets_;
  size_t next_ = 0;
  bool closed_ = false;
  std::mutex mutex_;
};

// Runs after AccumulateGrad has written the parameter's .grad.
struct ReadyHook : public torch::autograd::FunctionPostHook {
  ReadyHook(std::shared_ptr<Reduction> reduction, size_t index) : reduction(std::move(reduction)), index(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) override {
    reduction->ready(index);
    return outputs;
  }
  std::shared_ptr<Reduction> reduction;
  size_t index;
};

// Every node the backward of `loss` can reach.
std::unordered_set<Node*> reachable(const at::Tensor& loss) {
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  if (auto root = torch::autograd::impl::gradient_edge(loss).function) stack.push_back(root.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    for (const auto& edge : n->next_edges()) if (edge.function) stack.push_back(edge.function.get());
  }
  return seen;
}

// The hooks of one backward: removed when it succeeded; left closed when it failed.
class Hooks {
 public:
  Hooks(std::shared_ptr<Reduction> reduction, const at::Tensor& loss) : reduction_(std::move(reduction)) {
    const auto& params = reduction_->params();
    // every accumulator first (a failure leaves no hook behind), then the hooks
    for (size_t i = 0; i < params.size(); i++) {
      TORCH_CHECK(params[i].is_leaf() && params[i].requires_grad(), "parameter ", i, " is not a trainable leaf tensor (pass the parameters themselves)");
      auto accumulator = torch::autograd::impl::grad_accumulator(params[i]);
      TORCH_CHECK(accumulator, "parameter ", i, " has no gradient accumulator");
      accumulators_.push_back(std::move(accumulator));  // the parameter only holds it weakly
    }
    auto graph = reachable(loss);
    for (size_t i = 0; i < params.size(); i++) keys_.push_back(accumulators_[i]->add_post_hook(std::make_unique<ReadyHook>(reduction_, i)));
    try {
      for (size_t i = 0; i < params.size(); i++) if (!graph.count(accumulators_[i].get())) reduction_->ready(i);  // unused: no gradient will come
    } catch (...) {
      reduction_->close();  // (no destructor runs for a constructor that throws)
      throw;
    }
  }

  void succeeded() { succeeded_ = true; }

  ~Hooks() {
    reduction_->close();
    if (!succeeded_) return;
    for (size_t i = 0; i < keys_.size(); i++) accumulators_[i]->del_post_hook(keys_[i]);
  }

 private:
  std::shared_ptr<Reduction> reduction_;
  std::vector<std::shared_ptr<Node>> accumulators_;
  std::vector<uintptr_t> keys_;
  bool succeeded_ = false;
};

std::vector<std::vector<size_t>> bucketList(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "backwardAveraged: buckets: expected an array of arrays of parameter indices");
  auto outer = v.As<Napi::Array>();
  std::vector<std::vector<size_t>> out(outer.Length());
  for (uint32_t b = 0; b < outer.Length(); b++) {
    if (!outer.Get(b).IsArray()) throw Napi::TypeError::New(env, "backwardAveraged: buckets: expected an array of arrays of parameter indices");
    auto inner = outer.Get(b).As<Napi::Array>();
    for (uint32_t k = 0; k < inner.Length(); k++) out[b].push_back(static_cast<size_t>(inner.Get(k).As<Napi::Number>().Int64Value()));
  }
  return out;
}

}  // namespace

// backwardAveraged(group, loss, parameters, buckets) → { waitSeconds, startedInBackward }: the
// backward of a scalar loss with every parameter's gradient averaged across the group.
Napi::Value BackwardAveraged(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto group = expectGroup(env, info[0], "backwardAveraged");
  at::Tensor loss = expectTensor(env, info[1], "backwardAveraged");
  if (!info[2].IsArray()) throw Napi::TypeError::New(env, "backwardAveraged: expected an array of parameters");
  auto list = info[2].As<Napi::Array>();
  std::vector<at::Tensor> params;
  for (uint32_t i = 0; i < list.Length(); i++) params.push_back(expectTensor(env, list.Get(i), "backwardAveraged"));
  auto members = bucketList(env, info[3]);
  auto result = guarded(env, "backwardAveraged", [&] {
    auto reduction = std::make_shared<Reduction>(group, std::move(params), members);
    Hooks hooks(reduction, loss);
    loss.backward();
    auto r = reduction->finish();
    hooks.succeeded();
    return r;
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("waitSeconds", Napi::Number::New(env, result.waitSeconds));
  out.Set("startedInBackward", Napi::Number::New(env, static_cast<double>(result.startedBefore)));
  return out;
}

}  // namespace gt
#endif  // GEOSEG_GLOO
