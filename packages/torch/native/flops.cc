// FLOP counting at the dispatcher: while withFlopCount(fn) runs fn, a RecordFunction callback on
// this thread adds up the multiply-adds of every convolution and matrix product that goes
// through the dispatcher (modules and functional code alike), 2 FLOPs each. Counted once per op:
// at aten::convolution (every conv1d/2d/3d and transposed conv passes through it) and at the
// matrix products linear and matmul decompose into. Backward passes count too: their matrix
// products are the same ops, a convolution's backward counts the products of each gradient it
// computes (input, weight), so a training step's count is forward + backward. The count is this
// thread's: CPU backward runs here; CUDA backward runs on libtorch's device threads, uncounted.
// libtorch is built with NDEBUG, and RecordFunction has a member only without it: compiled
// without NDEBUG, this file would read the struct with another layout (inputs() at a wrong offset).
#ifndef NDEBUG
#define NDEBUG
#endif
#include <ATen/record_function.h>

#include <algorithm>
#include <cstring>

#include "flops.h"

namespace gt {
namespace {

struct FlopCounts {
  double convolution = 0;
  double matmul = 0;
};

thread_local FlopCounts* active = nullptr;

const at::Tensor* tensor(const c10::IValue& v) { return v.isTensor() ? &v.toTensor() : nullptr; }

// One entry of a per-dimension int list (a single value applies to every dimension).
int64_t entry(const c10::IValue& v, size_t j) {
  const auto list = v.toIntVector();
  return list.empty() ? 0 : list[std::min(j, list.size() - 1)];
}

// The FLOPs of aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups).
double convolutionFlops(c10::ArrayRef<const c10::IValue> in) {
  const at::Tensor* x = tensor(in[0]);
  const at::Tensor* w = tensor(in[1]);
  if (!x || !w || w->dim() < 3 || x->dim() != w->dim()) return 0;
  // weight [Cout, Cin/g, k…] (transposed: [Cin, Cout/g, k…]): products per output (input) value
  const double perValue = static_cast<double>(w->numel()) / w->size(0);
  if (in[6].toBool()) return 2 * static_cast<double>(x->numel()) * perValue;
  double outputs = static_cast<double>(x->size(0)) * w->size(0);
  for (int64_t d = 2; d < x->dim(); d++) {
    const size_t j = static_cast<size_t>(d - 2);
    const int64_t span = entry(in[5], j) * (w->size(d) - 1) + 1;
    const int64_t stride = entry(in[3], j);
    if (stride <= 0) return 0;  // libtorch refuses it right after
    const int64_t size = (x->size(d) + 2 * entry(in[4], j) - span) / stride + 1;
    if (size <= 0) return 0;
    outputs *= static_cast<double>(size);
  }
  return 2 * outputs * perValue;
}

// aten::convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
// transposed, output_padding, groups, output_mask): the input's and the weight's gradients each
// cost the forward's products.
double convolutionBackwardFlops(c10::ArrayRef<const c10::IValue> in) {
  const at::Tensor* gradOut = tensor(in[0]);
  const at::Tensor* x = tensor(in[1]);
  const at::Tensor* w = tensor(in[2]);
  if (!gradOut || !x || !w || w->dim() < 3) return 0;
  const double perValue = static_cast<double>(w->numel()) / w->size(0);
  const double forward = 2 * static_cast<double>(in[7].toBool() ? x->numel() : gradOut->numel()) * perValue;
  const auto mask = in[10].toBoolList();
  return forward * ((mask.size() > 0 && mask[0]) + (mask.size() > 1 && mask[1]));
}

// [.., n, k] @ [.., k, m]: 2 · batch · n · k · m.
double productFlops(const c10::IValue& a, const c10::IValue& b) {
  const at::Tensor* x = tensor(a);
  const at::Tensor* y = tensor(b);
  if (!x || !y || x->dim() < 2 || y->dim() < 2) return 0;
  return 2 * static_cast<double>(x->numel()) * y->size(y->dim() - 1);
}

// Counted ops open on this thread: under autocast an op is recorded twice (the autocast kernel
// calls it again, cast), and only the outer call counts.
thread_local int openCounted = 0;

struct CountedOp : at::ObserverContext {};

void onEnd(const at::RecordFunction&, at::ObserverContext* ctx) {
  if (ctx) openCounted--;
}

// Counted in the start callback: RecordFunction's inputs are valid only there.
std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
  if (!active) return nullptr;
  const char* name = fn.name();
  if (std::strncmp(name, "aten::", 6) != 0) return nullptr;
  const char* op = name + 6;
  const bool conv = std::strcmp(op, "convolution") == 0;
  const bool convBackward = std::strcmp(op, "convolution_backward") == 0;
  const bool product = std::strcmp(op, "mm") == 0 || std::strcmp(op, "bmm") == 0;
  const bool accumulated = std::strcmp(op, "addmm") == 0 || std::strcmp(op, "baddbmm") == 0 || std::strcmp(op, "addbmm") == 0;
  if (!conv && !convBackward && !product && !accumulated) return nullptr;
  if (openCounted++ > 0) return std::make_unique<CountedOp>();
  const auto in = fn.inputs();
  if (conv && in.size() >= 9) active->convolution += convolutionFlops(in);
  else if (convBackward && in.size() >= 11) active->convolution += convolutionBackwardFlops(in);
  else if (product && in.size() >= 2) active->matmul += productFlops(in[0], in[1]);
  else if (accumulated && in.size() >= 3) active->matmul += productFlops(in[1], in[2]);
  return std::make_unique<CountedOp>();
}

}  // namespace

// withFlopCount(fn) -> [fn's result, convolution FLOPs, matrix-product FLOPs]. Nested counts
// add theirs to the enclosing one.
Napi::Value WithFlopCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FlopCounts counts;
  FlopCounts* outer = active;
  active = &counts;
  // registered once and then disabled between counts (removing and re-adding a thread-local
  // callback leaves libtorch 1.13 calling it without its inputs)
  static thread_local c10::optional<at::CallbackHandle> handle;
  if (!handle) handle = at::addThreadLocalCallback(at::RecordFunctionCallback(onStart, onEnd).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  else if (!outer) at::reenableCallback(*handle);
  struct Scope {
    FlopCounts* outer;
    FlopCounts* counts;
    ~Scope() {
      active = outer;
      if (outer) {
        outer->convolution += counts->convolution;
        outer->matmul += counts->matmul;
      } else {
        at::disableCallback(*handle);
      }
    }
  } scope{outer, &counts};
  Napi::Value result = info[0].As<Napi::Function>().Call({});
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, result);
  out.Set(1u, Napi::Number::New(env, counts.convolution));
  out.Set(2u, Napi::Number::New(env, counts.matmul));
  return out;
}

void RegisterFlops(Napi::Env env, Napi::Object exports) {
  exports.Set("withFlopCount", Napi::Function::New(env, WithFlopCount));
}

}  // namespace gt
