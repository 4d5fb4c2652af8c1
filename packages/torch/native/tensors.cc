#include "tensors.h"

#include <torch/csrc/autograd/function.h>

#include <cstring>
#include <sstream>

namespace gt {

namespace {
struct DtypeEntry {
  const char* name;
  c10::ScalarType type;
};
// The first name of each dtype is the canonical one returned to JS.
const DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
    {"uint8", at::kByte},    {"bool", at::kBool},      {"complex64", at::kComplexFloat}, {"complex128", at::kComplexDouble},
    {"float", at::kFloat},   {"double", at::kDouble},  {"half", at::kHalf},    {"long", at::kLong},
    {"int", at::kInt},       {"short", at::kShort},
};

const char* kDisposed = "tensor was disposed (used after dispose() or after its tidy() scope ended)";
}  // namespace

bool dtypeFromName(const std::string& name, c10::ScalarType* out) {
  for (const auto& d : kDtypes) {
    if (name == d.name) {
      *out = d.type;
      return true;
    }
  }
  return false;
}

const char* dtypeName(c10::ScalarType t) {
  for (const auto& d : kDtypes) {
    if (d.type == t) return d.name;
  }
  return c10::toString(t);
}

std::string jsTypeName(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_bigint: return "bigint";
    case napi_function: return "function";
    case napi_symbol: return "symbol";
    default: break;
  }
  at::Tensor t2;
  Lookup l = lookupTensor(env, v, &t2);
  if (l == Lookup::Tensor) return "Tensor";
  if (l == Lookup::Disposed) return "disposed Tensor";
  bool b = false;
  napi_is_array(env, v, &b);
  if (b) return "array";
  napi_is_typedarray(env, v, &b);
  if (b) return "typed array";
  return "object";
}

// Tell V8 about external memory in steps of at least 1 MiB: each call costs about as much as a
// small op, and the collector only needs the order of magnitude.
static void reportBytes(napi_env env, AddonData* d, int64_t delta) {
  d->reportedBytes += delta;
  d->pendingBytes += delta;
  if (d->pendingBytes >= (1 << 20) || d->pendingBytes <= -(1 << 20)) {
    int64_t ignored;
    napi_adjust_external_memory(env, d->pendingBytes, &ignored);
    d->pendingBytes = 0;
  }
}

double storeTensor(napi_env env, at::Tensor t) {
  AddonData* d = data(env);
  uint32_t id;
  if (!d->freeSlots.empty()) {
    id = d->freeSlots.back();
    d->freeSlots.pop_back();
  } else {
    if (d->slots.size() >= kMaxSlots) throw Napi::Error::New(env, "too many live tensors (" + std::to_string(kMaxSlots) + "): dispose tensors or use tidy()");
    id = static_cast<uint32_t>(d->slots.size());
    d->slots.emplace_back();
    d->generations.push_back(0);
    d->slotBytes.push_back(0);
  }
  // Report storage bytes to V8 once per storage (views share storage and report nothing), so
  // the garbage collector feels the weight of tensors nobody disposed.
  int64_t bytes = 0;
  if (t.has_storage() && t.device().is_cpu()) {
    const auto& storage = t.storage();
    if (storage.use_count() == 1) bytes = static_cast<int64_t>(storage.nbytes());
  }
  if (bytes > 0) reportBytes(env, d, bytes);
  d->slots[id] = std::move(t);
  d->slotBytes[id] = bytes;
  d->liveTensors++;
  d->createdTensors++;
  return static_cast<double>((d->generations[id] << kSlotBits) | id);
}

// Release the tensor behind handle h; a stale or invalid handle releases nothing.
static void releaseSlot(napi_env env, AddonData* d, double h) {
  at::Tensor* t = slotFor(d, h);
  if (t == nullptr) return;
  uint32_t id = static_cast<uint32_t>(static_cast<uint64_t>(h) & (kMaxSlots - 1));
  t->reset();
  if (d->slotBytes[id] > 0) {
    reportBytes(env, d, -d->slotBytes[id]);
    d->slotBytes[id] = 0;
  }
  // A slot whose generations are used up is retired rather than ever handing out an old handle.
  if (++d->generations[id] <= kMaxGeneration) d->freeSlots.push_back(id);
  d->liveTensors--;
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  AddonData* d = data(env);
  napi_value factory, idv, result, recv;
  napi_get_reference_value(env, d->makeTensor, &factory);
  napi_get_undefined(env, &recv);
  napi_create_double(env, storeTensor(env, std::move(t)), &idv);
  napi_status s = napi_call_function(env, recv, factory, 1, &idv, &result);
  if (s != napi_ok) throw Napi::Error::New(env, "internal: tensor factory failed");
  return Napi::Value(env, result);
}

Lookup lookupTensor(napi_env env, napi_value v, at::Tensor* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_object) return Lookup::NotTensor;
  AddonData* d = data(env);
  napi_value key;
  napi_get_reference_value(env, d->idKey, &key);
  return lookupTensorIn(env, d, key, v, out);
}

Lookup lookupHandle(napi_env env, AddonData* d, napi_value key, napi_value v, double* handle) {
  napi_value idv;
  if (napi_get_property(env, v, key, &idv) != napi_ok) return Lookup::NotTensor;  // a throwing trap
  napi_valuetype it;
  napi_typeof(env, idv, &it);
  if (it != napi_number) return Lookup::NotTensor;
  napi_get_value_double(env, idv, handle);
  return slotFor(d, *handle) ? Lookup::Tensor : Lookup::Disposed;
}

Lookup lookupTensorIn(napi_env env, AddonData* d, napi_value key, napi_value v, at::Tensor* out) {
  double h;
  Lookup l = lookupHandle(env, d, key, v, &h);
  if (l == Lookup::Tensor) *out = *slotFor(d, h);  // after the property read: it may have run JS
  return l;
}

at::Tensor expectTensor(Napi::Env env, napi_value v, const std::string& what) {
  at::Tensor t;
  Lookup l = lookupTensor(env, v, &t);
  if (l == Lookup::Disposed) throw Napi::Error::New(env, what + ": " + kDisposed);
  if (l == Lookup::NotTensor) throw Napi::TypeError::New(env, what + ": expected a Tensor, got " + jsTypeName(env, v));
  return t;
}

namespace {

// The tensor behind handle info[i] (JS passes handles to these functions), by value: the
// table may grow while the caller still uses it.
at::Tensor slotArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  AddonData* d = data(info.Env());
  at::Tensor* t = info.Length() > i && info[i].IsNumber() ? slotFor(d, info[i].As<Napi::Number>().DoubleValue()) : nullptr;
  if (t == nullptr) throw Napi::Error::New(info.Env(), std::string("Tensor.") + what + ": " + kDisposed);
  return *t;
}

Napi::Value ret(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return Napi::Number::New(env, -1);
  return Napi::Number::New(env, storeTensor(env, std::move(t)));
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* d = data(env);
  napi_create_reference(env, info[0], 1, &d->idKey);
  napi_create_reference(env, info[1], 1, &d->makeTensor);
  auto shared = info[2].As<Napi::Float64Array>();
  if (shared.ElementLength() < 32) throw Napi::Error::New(env, "init: shared array too short");
  napi_create_reference(env, shared, 1, &d->sharedRef);
  d->shared = shared.Data();
  return env.Undefined();
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  if (info[0].IsNumber()) releaseSlot(info.Env(), data(info.Env()), info[0].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// releaseMany(handles: Float64Array, count)
Napi::Value ReleaseMany(const Napi::CallbackInfo& info) {
  auto ids = info[0].As<Napi::Float64Array>();
  size_t n = info[1].As<Napi::Number>().Uint32Value();
  AddonData* d = data(info.Env());
  for (size_t i = 0; i < n && i < ids.ElementLength(); i++) releaseSlot(info.Env(), d, ids[i]);
  return info.Env().Undefined();
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  auto sizes = slotArg(info, 0, "shape").sizes();
  Napi::Array out = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return out;
}

Napi::Value Strides(const Napi::CallbackInfo& info) {
  auto strides = slotArg(info, 0, "stride").strides();
  Napi::Array out = Napi::Array::New(info.Env(), strides.size());
  for (size_t i = 0; i < strides.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(strides[i])));
  return out;
}

Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), slotArg(info, 0, "isContiguous").is_contiguous());
}

Napi::Value Dtype(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtypeName(slotArg(info, 0, "dtype").scalar_type())); }
Napi::Value Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), slotArg(info, 0, "device").device().str()); }
Napi::Value RequiresGrad(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), slotArg(info, 0, "requiresGrad").requires_grad()); }

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  at::Tensor t = slotArg(info, 0, "requiresGrad");
  guarded(info.Env(), "Tensor.requiresGrad", [&] { t.set_requires_grad(info[1].As<Napi::Boolean>().Value()); });
  return info.Env().Undefined();
}

Napi::Value Grad(const Napi::CallbackInfo& info) { return ret(info.Env(), slotArg(info, 0, "grad").grad()); }

// setGrad(handle, gradHandle | -1)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor t = slotArg(info, 0, "grad");
  if (info[1].As<Napi::Number>().DoubleValue() < 0) {
    t.mutable_grad() = at::Tensor();
  } else {
    at::Tensor g = slotArg(info, 1, "grad");
    guarded(info.Env(), "Tensor.grad", [&] { t.mutable_grad() = g; });
  }
  return info.Env().Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), slotArg(info, 0, "isLeaf").is_leaf()); }

Napi::Value GradFn(const Napi::CallbackInfo& info) {
  auto fn = slotArg(info, 0, "gradFn").grad_fn();
  if (!fn) return info.Env().Null();
  return Napi::String::New(info.Env(), fn->name());
}

// backward(handle, gradHandle | -1, retainGraph: boolean | undefined, createGraph: boolean)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = slotArg(info, 0, "backward");
  at::Tensor grad;
  if (info[1].As<Napi::Number>().DoubleValue() >= 0) grad = slotArg(info, 1, "backward");
  c10::optional<bool> retain;
  if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
  bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  guarded(env, "Tensor.backward", [&] { t.backward(grad, retain, create); });
  return env.Undefined();
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = slotArg(info, 0, "item");
  return guarded(env, "Tensor.item", [&]() -> Napi::Value {
    if (t.numel() != 1) throw Napi::Error::New(env, "Tensor.item: tensor has " + std::to_string(t.numel()) + " elements, expected exactly 1");
    c10::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    if (s.isComplex()) throw Napi::Error::New(env, "Tensor.item: a complex tensor has no JS number; use data()");
    return Napi::Number::New(env, s.toDouble());
  });
}

// A contiguous CPU copy of the elements as a typed array of the matching kind. float16 and
// bfloat16 come back as Float32Array (JS has no 16-bit float array); bytes() gives raw bits.
Napi::Value Data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = slotArg(info, 0, "data");
  return guarded(env, "Tensor.data", [&]() -> Napi::Value {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    if (c.scalar_type() == at::kHalf || c.scalar_type() == at::kBFloat16) c = c.to(at::kFloat);
    size_t nbytes = c.nbytes();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, nbytes);
    if (nbytes > 0) std::memcpy(ab.Data(), c.data_ptr(), nbytes);
    size_t n = static_cast<size_t>(c.numel());
    switch (c.scalar_type()) {
      case at::kFloat: return Napi::Float32Array::New(env, n, ab, 0);
      case at::kDouble: return Napi::Float64Array::New(env, n, ab, 0);
      case at::kLong: return Napi::BigInt64Array::New(env, n, ab, 0);
      case at::kInt: return Napi::Int32Array::New(env, n, ab, 0);
      case at::kShort: return Napi::Int16Array::New(env, n, ab, 0);
      case at::kChar: return Napi::Int8Array::New(env, n, ab, 0);
      case at::kByte:
      case at::kBool: return Napi::Uint8Array::New(env, n, ab, 0);
      case at::kComplexFloat: return Napi::Float32Array::New(env, 2 * n, ab, 0);
      case at::kComplexDouble: return Napi::Float64Array::New(env, 2 * n, ab, 0);
      default: throw Napi::Error::New(env, std::string("Tensor.data: no typed array for dtype ") + c10::toString(c.scalar_type()));
    }
  });
}

// The raw little-endian bytes of a contiguous CPU copy (any dtype), as a Node Buffer.
Napi::Value Bytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = slotArg(info, 0, "bytes");
  return guarded(env, "Tensor.bytes", [&]() -> Napi::Value {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(c.data_ptr()), c.nbytes());
  });
}

Napi::Value ToString(const Napi::CallbackInfo& info) {
  std::ostringstream os;
  os << slotArg(info, 0, "toString");
  return Napi::String::New(info.Env(), os.str());
}

// True when both ids hold the same TensorImpl (the same tensor, not merely equal values).
Napi::Value IsSame(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), slotArg(info, 0, "isSame").is_same(slotArg(info, 1, "isSame")));
}

// fromBuffer(source: TypedArray | ArrayBuffer | DataView, dtype: string, shape: number[]) -> id
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  c10::ScalarType dtype;
  if (!dtypeFromName(name, &dtype)) throw Napi::TypeError::New(env, "fromBuffer: unknown dtype '" + name + "'");
  // The shape first: reading its elements may run JS (getters) that could detach the source.
  if (!info[2].IsArray()) throw Napi::TypeError::New(env, "fromBuffer: shape must be an array of non-negative integers");
  auto arr = info[2].As<Napi::Array>();
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (x < 0 || x > 9.2e18 || x != static_cast<double>(static_cast<int64_t>(x))) throw Napi::TypeError::New(env, "fromBuffer: shape must be an array of non-negative integers");
    shape.push_back(static_cast<int64_t>(x));
    numel *= shape.back();
  }
  // Then the source's bytes, with no JS run between this and the copy.
  const uint8_t* bytes = nullptr;
  size_t length = 0;
  if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    bytes = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    length = ta.ByteLength();
  } else if (info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    bytes = static_cast<const uint8_t*>(ab.Data());
    length = ab.ByteLength();
  } else if (info[0].IsDataView()) {
    auto dv = info[0].As<Napi::DataView>();
    bytes = static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    length = dv.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "fromBuffer: source must be a typed array, DataView or ArrayBuffer, got " + jsTypeName(env, info[0]));
  }
  size_t expected = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (expected != length) {
    throw Napi::RangeError::New(env, "fromBuffer: shape [" + c10::Join(", ", shape) + "] holds " + std::to_string(numel) + " " + dtypeName(dtype) +
                                         " elements (" + std::to_string(expected) + " bytes) but the source has " + std::to_string(length) + " bytes");
  }
  return guarded(env, "fromBuffer", [&] {
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (length > 0) std::memcpy(t.data_ptr(), bytes, length);
    return ret(env, std::move(t));
  });
}

}  // namespace

void InitTensorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("releaseMany", Napi::Function::New(env, ReleaseMany));
  exports.Set("shape", Napi::Function::New(env, Shape));
  exports.Set("dtype", Napi::Function::New(env, Dtype));
  exports.Set("strides", Napi::Function::New(env, Strides));
  exports.Set("isContiguous", Napi::Function::New(env, IsContiguous));
  exports.Set("device", Napi::Function::New(env, Device));
  exports.Set("requiresGrad", Napi::Function::New(env, RequiresGrad));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("grad", Napi::Function::New(env, Grad));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad));
  exports.Set("isLeaf", Napi::Function::New(env, IsLeaf));
  exports.Set("gradFn", Napi::Function::New(env, GradFn));
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("item", Napi::Function::New(env, Item));
  exports.Set("data", Napi::Function::New(env, Data));
  exports.Set("bytes", Napi::Function::New(env, Bytes));
  exports.Set("toString", Napi::Function::New(env, ToString));
  exports.Set("isSame", Napi::Function::New(env, IsSame));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
}

}  // namespace gt
