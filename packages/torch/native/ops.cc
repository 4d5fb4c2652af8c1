#include "ops.h"

#include <ATen/ScalarOps.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>
#include <ATen/core/jit_type.h>
#include <ATen/core/stack.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "convert.h"
#include "tensors.h"

namespace gt {
namespace {

enum class Kind : uint8_t {
  Tensor, TensorList, OptTensorList, Int, Float, Bool, Scalar, IntList, FloatList, BoolList,
  Str, ScalarType, Layout, MemoryFormat, Device, Generator, Other, Unsupported
};

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Tensor: return "Tensor";
    case Kind::TensorList: return "Tensor[]";
    case Kind::OptTensorList: return "(Tensor|null)[]";
    case Kind::Int: return "integer";
    case Kind::Float: return "number";
    case Kind::Bool: return "boolean";
    case Kind::Scalar: return "number (Scalar)";
    case Kind::IntList: return "integer[]";
    case Kind::FloatList: return "number[]";
    case Kind::BoolList: return "boolean[]";
    case Kind::Str: return "string";
    case Kind::ScalarType: return "dtype name";
    case Kind::Layout: return "layout name";
    case Kind::MemoryFormat: return "memory format name";
    case Kind::Device: return "device string";
    case Kind::Generator: return "null (Generator)";
    case Kind::Other: return "value";
    default: return "unsupported";
  }
}

struct ArgSpec {
  std::string name;
  std::string camel;
  Kind kind;
  bool optional;
  int64_t n;  // fixed list length (int[2]) or -1
  bool hasDefault;
  c10::IValue defaultValue;
  bool kwOnly;
};

struct Overload {
  c10::optional<c10::OperatorHandle> op;
  std::string display;
  std::vector<ArgSpec> args;
  size_t nPositional;
  std::vector<Kind> returns;
  std::vector<int> returnAlias;  // index of the argument a return aliases for writing, or -1
  bool isFactory = false;         // has a pin_memory argument: accepts requiresGrad too
};

struct Group {
  std::string name;
  std::vector<Overload> overloads;
};

std::string camelCase(const std::string& s) {
  std::string out;
  bool upper = false;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '_' && i > 0 && i + 1 < s.size()) {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(c)) : c);
    upper = false;
  }
  return out;
}

Kind kindOf(c10::TypePtr t, bool* optional) {
  *optional = false;
  if (t->kind() == c10::TypeKind::OptionalType) {
    *optional = true;
    t = t->expectRef<c10::OptionalType>().getElementType();
  }
  switch (t->kind()) {
    case c10::TypeKind::TensorType: return Kind::Tensor;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: return Kind::Int;
    case c10::TypeKind::FloatType: return Kind::Float;
    case c10::TypeKind::BoolType: return Kind::Bool;
    case c10::TypeKind::NumberType: return Kind::Scalar;
    case c10::TypeKind::StringType: return Kind::Str;
    case c10::TypeKind::ScalarTypeType: return Kind::ScalarType;
    case c10::TypeKind::LayoutType: return Kind::Layout;
    case c10::TypeKind::MemoryFormatType: return Kind::MemoryFormat;
    case c10::TypeKind::DeviceObjType: return Kind::Device;
    case c10::TypeKind::GeneratorType: return Kind::Generator;
    case c10::TypeKind::ListType: {
      c10::TypePtr e = t->expectRef<c10::ListType>().getElementType();
      if (e->kind() == c10::TypeKind::OptionalType) {
        c10::TypePtr inner = e->expectRef<c10::OptionalType>().getElementType();
        return inner->kind() == c10::TypeKind::TensorType ? Kind::OptTensorList : Kind::Unsupported;
      }
      switch (e->kind()) {
        case c10::TypeKind::TensorType: return Kind::TensorList;
        case c10::TypeKind::IntType:
        case c10::TypeKind::SymIntType: return Kind::IntList;
        case c10::TypeKind::FloatType: return Kind::FloatList;
        case c10::TypeKind::BoolType: return Kind::BoolList;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

// Returns are converted generically, except dtypes (which libtorch returns as integers).
Kind returnKindOf(const c10::TypePtr& t) {
  bool optional;
  Kind k = kindOf(t, &optional);
  if (k == Kind::Tensor && !optional) return k;
  return k == Kind::ScalarType ? k : Kind::Other;
}

bool buildOverload(const c10::OperatorHandle& op, Overload* out) {
  const c10::FunctionSchema& schema = op.schema();
  out->op = op;
  std::ostringstream os;
  os << schema;
  out->display = os.str();
  out->nPositional = 0;
  for (const c10::Argument& a : schema.arguments()) {
    if (a.is_out()) return false;
    ArgSpec spec;
    spec.name = a.name();
    spec.camel = camelCase(a.name());
    spec.kind = kindOf(a.real_type(), &spec.optional);
    if (spec.kind == Kind::Unsupported) return false;
    spec.n = a.N() ? static_cast<int64_t>(*a.N()) : -1;
    spec.hasDefault = a.default_value().has_value();
    if (spec.hasDefault) spec.defaultValue = *a.default_value();
    spec.kwOnly = a.kwarg_only();
    if (spec.name == "pin_memory") out->isFactory = true;
    if (!spec.kwOnly) out->nPositional++;
    out->args.push_back(std::move(spec));
  }
  for (const c10::Argument& r : schema.returns()) {
    out->returns.push_back(returnKindOf(r.real_type()));
    int alias = -1;
    if (r.alias_info() && r.alias_info()->isWrite()) {
      for (size_t i = 0; i < schema.arguments().size(); i++) {
        const c10::Argument& a = schema.arguments()[i];
        if (a.alias_info() && a.alias_info()->isWrite() && a.alias_info()->beforeSets() == r.alias_info()->beforeSets()) {
          alias = static_cast<int>(i);
          break;
        }
      }
    }
    out->returnAlias.push_back(alias);
  }
  return true;
}

// Group table: ids index a fixed array so the hot path reads it without a lock.
constexpr int kMaxGroups = 16384;
std::atomic<Group*> groupTable[kMaxGroups];
std::atomic<int> groupCount{0};
std::mutex groupMutex;
std::unordered_map<std::string, int> groupIds;
std::unordered_map<std::string, std::vector<c10::OperatorName>>* opsByName = nullptr;

void indexOperators() {
  if (opsByName) return;
  opsByName = new std::unordered_map<std::string, std::vector<c10::OperatorName>>();
  for (const c10::OperatorName& n : c10::Dispatcher::singleton().getAllOpNames()) (*opsByName)[n.name].push_back(n);
}

int findOrCreateGroup(Napi::Env env, std::string name) {
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  std::lock_guard<std::mutex> lock(groupMutex);
  auto it = groupIds.find(name);
  if (it != groupIds.end()) return it->second;
  indexOperators();
  auto group = std::make_unique<Group>();
  group->name = name;
  std::vector<c10::OperatorName> names;
  auto dot = name.find('.', name.find("::"));
  bool exact = dot != std::string::npos;
  std::string base = exact ? name.substr(0, dot) : name;
  auto found = opsByName->find(base);
  if (found != opsByName->end()) {
    for (const auto& n : found->second) {
      if (!exact || n.overload_name == name.substr(dot + 1)) names.push_back(n);
    }
  }
  if (names.empty()) throw Napi::Error::New(env, "unknown operator '" + name + "' (not registered in this libtorch)");
  // The default overload first, then the others by name, so resolution is deterministic.
  std::sort(names.begin(), names.end(), [](const c10::OperatorName& a, const c10::OperatorName& b) { return a.overload_name < b.overload_name; });
  for (const auto& n : names) {
    auto handle = c10::Dispatcher::singleton().findOp(n);
    if (!handle) continue;
    Overload ov;
    if (buildOverload(*handle, &ov)) group->overloads.push_back(std::move(ov));
  }
  if (group->overloads.empty()) throw Napi::Error::New(env, "operator '" + name + "' has no overload callable from JS (only out= variants or unsupported argument types)");
  int id = groupCount.load();
  if (id >= kMaxGroups) throw Napi::Error::New(env, "too many operator groups");
  groupTable[id].store(group.release());
  groupCount.store(id + 1);
  groupIds[name] = id;
  return id;
}

enum class Fit { Ok, No, Disposed };

bool getInt(napi_env env, napi_value v, napi_valuetype t, int64_t* out) {
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (std::nearbyint(d) != d || std::abs(d) > 9.2e18) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    return lossless;
  }
  return false;
}

std::string getString(napi_env env, napi_value v) {
  size_t len = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &len);
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, s.data(), len + 1, &len);
  return s;
}

bool scalarFrom(napi_env env, napi_value v, napi_valuetype t, c10::Scalar* out) {
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (std::nearbyint(d) == d && std::abs(d) < 9007199254740992.0) *out = c10::Scalar(static_cast<int64_t>(d));
    else *out = c10::Scalar(d);
    return true;
  }
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    *out = c10::Scalar(b);
    return true;
  }
  if (t == napi_bigint) {
    int64_t i;
    bool lossless;
    napi_get_value_bigint_int64(env, v, &i, &lossless);
    *out = c10::Scalar(i);
    return lossless;
  }
  return false;
}

// Elements of a JS array, or nullopt when v is not an array.
bool arrayItems(napi_env env, napi_value v, std::vector<napi_value>* items) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (!isArray) return false;
  uint32_t n;
  napi_get_array_length(env, v, &n);
  items->resize(n);
  for (uint32_t i = 0; i < n; i++) napi_get_element(env, v, i, &(*items)[i]);
  return true;
}

// What a JS argument is, inspected once per call (not once per overload tried). A tensor is kept
// as its handle and looked up when bound: JS code that runs in between (a getter of a later
// argument) may grow the tensor table, or dispose the tensor.
// A plain struct on purpose: a call's argument array is not initialized element by element.
struct JsArg {
  napi_value v;
  napi_valuetype t;
  Lookup lookup;
  double handle;
};

// The options object's entries, read once before any overload is bound, so that getters run
// once and no conversion is under way while they do.
struct KwArg {
  std::string name;
  JsArg arg;
};
using Kwargs = std::vector<KwArg>;

// Throw the pending JS exception (e.g. from a throwing getter) when a N-API call failed.
void check(napi_env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);
}

JsArg inspect(napi_env env, AddonData* d, napi_value idKey, napi_value v) {
  JsArg a{v, napi_undefined, Lookup::NotTensor, -1};
  napi_typeof(env, v, &a.t);
  if (a.t == napi_object) a.lookup = lookupHandle(env, d, idKey, v, &a.handle);
  return a;
}

Fit convertArg(napi_env env, AddonData* d, const JsArg& arg, const ArgSpec& a, bool lenient, c10::IValue* out) {
  napi_value v = arg.v;
  napi_valuetype t = arg.t;
  if (t == napi_null || t == napi_undefined) {
    if (!a.optional) return Fit::No;
    *out = c10::IValue();
    return Fit::Ok;
  }
  switch (a.kind) {
    case Kind::Tensor: {
      if (arg.lookup == Lookup::Tensor) {
        at::Tensor* t = slotFor(d, arg.handle);
        if (t == nullptr) return Fit::Disposed;  // disposed by JS run during this call
        *out = *t;
        return Fit::Ok;
      }
      if (arg.lookup == Lookup::Disposed) return Fit::Disposed;
      c10::Scalar s;
      if (lenient && scalarFrom(env, v, t, &s)) {
        at::Tensor wrapped = c10::scalar_to_tensor(s);
        wrapped.unsafeGetTensorImpl()->set_wrapped_number(true);
        *out = wrapped;
        return Fit::Ok;
      }
      return Fit::No;
    }
    case Kind::Int: {
      int64_t i;
      if (!getInt(env, v, t, &i)) return Fit::No;
      *out = i;
      return Fit::Ok;
    }
    case Kind::Float: {
      if (t != napi_number) {
        int64_t i;
        if (lenient && getInt(env, v, t, &i)) { *out = static_cast<double>(i); return Fit::Ok; }
        return Fit::No;
      }
      double d;
      napi_get_value_double(env, v, &d);
      *out = d;
      return Fit::Ok;
    }
    case Kind::Bool: {
      if (t != napi_boolean) return Fit::No;
      bool b;
      napi_get_value_bool(env, v, &b);
      *out = b;
      return Fit::Ok;
    }
    case Kind::Scalar: {
      c10::Scalar s;
      if (!scalarFrom(env, v, t, &s)) return Fit::No;
      *out = s;
      return Fit::Ok;
    }
    case Kind::IntList: {
      std::vector<napi_value> items;
      std::vector<int64_t> ints;
      if (arrayItems(env, v, &items)) {
        ints.reserve(items.size());
        for (napi_value item : items) {
          napi_valuetype it;
          napi_typeof(env, item, &it);
          int64_t i;
          if (!getInt(env, item, it, &i)) return Fit::No;
          ints.push_back(i);
        }
      } else {
        int64_t i;
        if (!getInt(env, v, t, &i)) return Fit::No;
        ints.assign(a.n > 0 ? a.n : 1, i);  // int[2] accepts one int, as in PyTorch
      }
      *out = c10::IValue(ints);
      return Fit::Ok;
    }
    case Kind::FloatList: {
      std::vector<napi_value> items;
      std::vector<double> ds;
      if (arrayItems(env, v, &items)) {
        for (napi_value item : items) {
          napi_valuetype it;
          napi_typeof(env, item, &it);
          if (it != napi_number) return Fit::No;
          double d;
          napi_get_value_double(env, item, &d);
          ds.push_back(d);
        }
      } else {
        if (t != napi_number) return Fit::No;
        double d;
        napi_get_value_double(env, v, &d);
        ds.assign(a.n > 0 ? a.n : 1, d);
      }
      *out = c10::IValue(ds);
      return Fit::Ok;
    }
    case Kind::BoolList: {
      std::vector<napi_value> items;
      if (!arrayItems(env, v, &items)) return Fit::No;
      c10::List<bool> bs;
      for (napi_value item : items) {
        napi_valuetype it;
        napi_typeof(env, item, &it);
        if (it != napi_boolean) return Fit::No;
        bool b;
        napi_get_value_bool(env, item, &b);
        bs.push_back(b);
      }
      *out = c10::IValue(bs);
      return Fit::Ok;
    }
    case Kind::TensorList:
    case Kind::OptTensorList: {
      std::vector<napi_value> items;
      if (!arrayItems(env, v, &items)) return Fit::No;
      if (a.kind == Kind::TensorList) {
        c10::List<at::Tensor> ts;
        ts.reserve(items.size());
        for (napi_value item : items) {
          at::Tensor tp;
          Lookup l = lookupTensor(env, item, &tp);
          if (l == Lookup::NotTensor) return Fit::No;
          if (l == Lookup::Disposed) return Fit::Disposed;
          ts.push_back(std::move(tp));
        }
        *out = c10::IValue(ts);
      } else {
        c10::List<c10::optional<at::Tensor>> ts;
        for (napi_value item : items) {
          napi_valuetype it;
          napi_typeof(env, item, &it);
          if (it == napi_null || it == napi_undefined) {
            ts.push_back(c10::nullopt);
            continue;
          }
          at::Tensor tp;
          Lookup l = lookupTensor(env, item, &tp);
          if (l == Lookup::NotTensor) return Fit::No;
          if (l == Lookup::Disposed) return Fit::Disposed;
          ts.push_back(std::move(tp));
        }
        *out = c10::IValue(ts);
      }
      return Fit::Ok;
    }
    case Kind::Str: {
      if (t != napi_string) return Fit::No;
      *out = getString(env, v);
      return Fit::Ok;
    }
    case Kind::ScalarType: {
      if (t != napi_string) return Fit::No;
      c10::ScalarType st;
      if (!dtypeFromName(getString(env, v), &st)) return Fit::No;
      *out = static_cast<int64_t>(st);
      return Fit::Ok;
    }
    case Kind::Layout: {
      if (t != napi_string) return Fit::No;
      std::string s = getString(env, v);
      if (s == "strided") *out = static_cast<int64_t>(at::kStrided);
      else if (s == "sparse" || s == "sparse_coo") *out = static_cast<int64_t>(at::kSparse);
      else return Fit::No;
      return Fit::Ok;
    }
    case Kind::MemoryFormat: {
      if (t != napi_string) return Fit::No;
      std::string s = camelCase(getString(env, v));
      if (s == "contiguous" || s == "contiguousFormat") *out = static_cast<int64_t>(at::MemoryFormat::Contiguous);
      else if (s == "channelsLast") *out = static_cast<int64_t>(at::MemoryFormat::ChannelsLast);
      else if (s == "channelsLast3d") *out = static_cast<int64_t>(at::MemoryFormat::ChannelsLast3d);
      else if (s == "preserve" || s == "preserveFormat") *out = static_cast<int64_t>(at::MemoryFormat::Preserve);
      else return Fit::No;
      return Fit::Ok;
    }
    case Kind::Device: {
      if (t != napi_string) return Fit::No;
      try {
        *out = c10::Device(getString(env, v));
      } catch (const std::exception&) {
        return Fit::No;
      }
      return Fit::Ok;
    }
    default: return Fit::No;  // a Generator can only be null (the default generator)
  }
}

// A cheap test of the positional arguments' JS types against an overload, so that overloads
// that cannot fit are skipped before any conversion.
bool quickFit(const ArgSpec& a, const JsArg& arg, bool lenient) {
  switch (arg.t) {
    case napi_undefined: return true;  // the default (or a missing-argument error later)
    case napi_null: return a.optional;
    default: break;
  }
  switch (a.kind) {
    case Kind::Tensor:
      return arg.lookup != Lookup::NotTensor || (lenient && (arg.t == napi_number || arg.t == napi_boolean || arg.t == napi_bigint));
    case Kind::Int: return arg.t == napi_number || arg.t == napi_bigint;
    case Kind::Float: return arg.t == napi_number || (lenient && arg.t == napi_bigint);
    case Kind::Bool: return arg.t == napi_boolean;
    case Kind::Scalar: return arg.t == napi_number || arg.t == napi_boolean || arg.t == napi_bigint;
    case Kind::IntList:
    case Kind::FloatList: return (arg.t == napi_object && arg.lookup == Lookup::NotTensor) || arg.t == napi_number || arg.t == napi_bigint;
    case Kind::BoolList:
    case Kind::TensorList:
    case Kind::OptTensorList: return arg.t == napi_object && arg.lookup == Lookup::NotTensor;
    case Kind::Str:
    case Kind::ScalarType:
    case Kind::Layout:
    case Kind::MemoryFormat:
    case Kind::Device: return arg.t == napi_string;
    default: return false;
  }
}

// Binds JS arguments to one overload's schema, filling stack. When why is given (only on the
// error path), it receives the reason for a mismatch.
const JsArg* findKwarg(const Kwargs* kwargs, const std::string& name) {
  if (kwargs == nullptr) return nullptr;
  for (const KwArg& k : *kwargs) {
    if (k.name == name) return &k.arg;
  }
  return nullptr;
}

Fit bindArgs(napi_env env, AddonData* d, const Overload& ov, const JsArg* argv, size_t argc, const Kwargs* kwargs,
             bool lenient, torch::jit::Stack* stack, std::string* why) {
  if (argc > ov.nPositional) {
    if (why) *why = "takes " + std::to_string(ov.nPositional) + " positional arguments but " + std::to_string(argc) + " were given";
    return Fit::No;
  }
  if (why == nullptr) {
    for (size_t i = 0; i < argc; i++) {
      if (!quickFit(ov.args[i], argv[i], lenient)) return Fit::No;
    }
  }
  stack->clear();
  uint32_t usedKw = 0;
  for (size_t i = 0; i < ov.args.size(); i++) {
    const ArgSpec& a = ov.args[i];
    static const JsArg kAbsent{nullptr, napi_undefined, Lookup::NotTensor, -1};
    const JsArg* found = nullptr;
    if (i < argc && !a.kwOnly) {
      found = &argv[i];
    } else if (kwargs != nullptr) {
      found = findKwarg(kwargs, a.camel);
      if (found == nullptr && a.camel != a.name) found = findKwarg(kwargs, a.name);
      if (found != nullptr) usedKw++;
    }
    const JsArg& arg = found ? *found : kAbsent;
    if (arg.v == nullptr || arg.t == napi_undefined) {
      if (a.hasDefault) {
        stack->push_back(a.defaultValue);
        continue;
      }
      if (why) *why = "missing argument '" + a.camel + "'";
      return Fit::No;
    }
    c10::IValue iv;
    Fit fit = convertArg(env, d, arg, a, lenient, &iv);
    if (fit != Fit::Ok) {
      if (why) {
        *why = "argument '" + a.camel + "' (position " + std::to_string(i + 1) + ")";
        if (fit == Fit::No) {
          *why += std::string(" must be ") + (a.optional ? "null or " : "") + kindName(a.kind) +
                  (a.n > 0 ? " of length " + std::to_string(a.n) : "") + ", got " + jsTypeName(env, arg.v);
        }
      }
      return fit;
    }
    stack->push_back(std::move(iv));
  }
  if (kwargs != nullptr && usedKw != kwargs->size()) {
    // Factories take requiresGrad as PyTorch's Python binding does (it is not in the schema).
    bool has = ov.isFactory && findKwarg(kwargs, "requiresGrad") != nullptr;
    if (!has || usedKw + 1 != kwargs->size()) {
      if (why) *why = "unknown name in the options object";
      return Fit::No;
    }
  }
  return Fit::Ok;
}

napi_value runOverload(napi_env env, const Group& g, const Overload& ov, const JsArg* argv, size_t argc, torch::jit::Stack* stack) {
  try {
    ov.op->callBoxed(stack);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, g.name + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, g.name + ": " + e.what());
  }
  size_t nret = ov.returns.size();
  auto aliasedArg = [&](size_t i) -> napi_value {
    int alias = ov.returnAlias[i];
    if (alias < 0 || static_cast<size_t>(alias) >= argc) return nullptr;
    return argv[alias].lookup == Lookup::Tensor ? argv[alias].v : nullptr;
  };
  // Fast path: one tensor comes back as its bare id, and the shared flag tells JS to wrap it.
  if (nret == 1 && ov.returns[0] == Kind::Tensor && aliasedArg(0) == nullptr && (*stack)[0].isTensor()) {
    at::Tensor t = std::move((*stack)[0]).toTensor();
    stack->clear();
    if (t.defined()) {
      napi_value id;
      napi_create_double(env, storeTensor(env, std::move(t)), &id);
      data(env)->shared[0] = 1;
      return id;
    }
    napi_value null;
    napi_get_null(env, &null);
    return null;
  }
  // Converting may call into JS (which may call ops again), so take the results off the stack.
  std::vector<c10::IValue> results(std::make_move_iterator(stack->begin()), std::make_move_iterator(stack->end()));
  stack->clear();
  auto convert = [&](size_t i) -> Napi::Value {
    if (napi_value same = aliasedArg(i)) return Napi::Value(env, same);  // in-place ops hand back their own argument
    const c10::IValue& r = results[i];
    if (ov.returns[i] == Kind::ScalarType && r.isInt()) return Napi::String::New(env, dtypeName(static_cast<c10::ScalarType>(r.toInt())));
    return ivalueToJs(env, r);
  };
  if (nret == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    return undef;
  }
  if (nret == 1) return convert(0);
  Napi::Array out = Napi::Array::New(env, nret);
  for (size_t i = 0; i < nret; i++) out.Set(static_cast<uint32_t>(i), convert(i));
  return out;
}

constexpr size_t kMaxArgs = 24;  // JS arguments of one call (the op id included)

// The argument stack of one op call at its nesting depth (an argument getter may call ops).
class CallFrame {
 public:
  explicit CallFrame(AddonData* d) : d_(d) {
    if (d->stacks.size() <= d->callDepth) d->stacks.emplace_back();
    stack_ = &d->stacks[d->callDepth++];
  }
  ~CallFrame() {
    stack_->clear();  // an error path must not keep tensors alive
    d_->callDepth--;
  }
  torch::jit::Stack& stack() { return *stack_; }

 private:
  AddonData* d_;
  torch::jit::Stack* stack_;
};

napi_value callGroup(napi_env env, napi_callback_info info, bool idsGiven) {
  size_t argcAll = kMaxArgs;
  napi_value raw[kMaxArgs];
  napi_get_cb_info(env, info, &argcAll, raw, nullptr, nullptr);
  if (argcAll > kMaxArgs) throw Napi::Error::New(env, "callGroup: too many arguments");
  int32_t id = -1;
  if (argcAll > 0) napi_get_value_int32(env, raw[0], &id);
  if (id < 0 || id >= groupCount.load()) throw Napi::Error::New(env, "callGroup: invalid operator id");
  const Group& g = *groupTable[id].load();

  AddonData* d = data(env);
  CallFrame frame(d);
  napi_value idKey = nullptr;
  auto key = [&] {
    if (idKey == nullptr) napi_get_reference_value(env, d->idKey, &idKey);
    return idKey;
  };
  JsArg argv[kMaxArgs];
  size_t argc = argcAll - 1;
  // First the handles the generated wrappers put in the shared array (cheaper than looking the
  // id property up from here), before anything below can run JS and reuse that array.
  if (idsGiven) {
    for (size_t i = 0; i < argc && i < kMaxArgs - 1; i++) {
      JsArg& a = argv[i];
      a = {raw[i + 1], napi_object, Lookup::NotTensor, -1};
      double h = d->shared[1 + i];
      if (h == -2) {
        napi_typeof(env, a.v, &a.t);
      } else if (slotFor(d, h) != nullptr) {
        a.lookup = Lookup::Tensor;
        a.handle = h;
      } else {
        a.lookup = Lookup::Disposed;
      }
    }
  } else {
    for (size_t i = 0; i < argc; i++) argv[i] = inspect(env, d, key(), raw[i + 1]);
  }
  while (argc > 0 && argv[argc - 1].t == napi_undefined) argc--;  // trailing undefined = not given
  // A trailing plain object (not a Tensor, array or typed array) gives arguments by name.
  Kwargs kwargs;
  bool hasKwargs = false;
  if (argc > 0 && argv[argc - 1].t == napi_object && argv[argc - 1].lookup == Lookup::NotTensor) {
    napi_value v = argv[argc - 1].v;
    bool isArray = false, isTyped = false;
    napi_is_array(env, v, &isArray);
    if (!isArray) napi_is_typedarray(env, v, &isTyped);
    if (!isArray && !isTyped) {
      hasKwargs = true;
      argc--;
      napi_value keys;
      check(env, napi_get_property_names(env, v, &keys));
      uint32_t n = 0;
      napi_get_array_length(env, keys, &n);
      kwargs.reserve(n);
      for (uint32_t i = 0; i < n; i++) {
        napi_value name, value;
        check(env, napi_get_element(env, keys, i, &name));
        check(env, napi_get_property(env, v, name, &value));
        napi_valuetype kt;
        napi_typeof(env, name, &kt);
        if (kt != napi_string) continue;
        kwargs.push_back({getString(env, name), inspect(env, d, key(), value)});
      }
    }
  }
  const Kwargs* kw = hasKwargs ? &kwargs : nullptr;

  torch::jit::Stack& stack = frame.stack();
  for (bool lenient : {false, true}) {
    for (const Overload& ov : g.overloads) {
      Fit fit = bindArgs(env, d, ov, argv, argc, kw, lenient, &stack, nullptr);
      if (fit == Fit::Ok) {
        bool requiresGrad = false;
        if (kw != nullptr && ov.isFactory) {
          const JsArg* rg = findKwarg(kw, "requiresGrad");
          if (rg != nullptr && rg->t == napi_boolean) napi_get_value_bool(env, rg->v, &requiresGrad);
        }
        napi_value result = runOverload(env, g, ov, argv, argc, &stack);
        if (requiresGrad && d->shared[0] == 1) {  // a factory's single tensor, still a bare handle
          double h;
          napi_get_value_double(env, result, &h);
          at::Tensor* t = slotFor(d, h);
          if (t != nullptr) guarded(env, g.name + ": requiresGrad", [&] { t->set_requires_grad(true); });
        }
        return result;
      }
      if (fit == Fit::Disposed) {
        std::string why;
        bindArgs(env, d, ov, argv, argc, kw, lenient, &stack, &why);
        stack.clear();
        throw Napi::Error::New(env, g.name + ": " + why + " is a disposed tensor (used after dispose() or after its tidy() scope ended)");
      }
    }
  }
  stack.clear();
  // Nothing fits: say why for each overload.
  std::string given;
  for (size_t i = 0; i < argc; i++) given += (i ? ", " : "") + jsTypeName(env, argv[i].v);
  if (kw) given += std::string(argc ? ", " : "") + "{options}";
  std::vector<std::string> reasons;
  for (const Overload& ov : g.overloads) {
    std::string why;
    bindArgs(env, d, ov, argv, argc, kw, false, &stack, &why);
    stack.clear();
    reasons.push_back(why);
  }
  if (g.overloads.size() == 1) throw Napi::TypeError::New(env, g.name + ": " + reasons[0] + "; schema: " + g.overloads[0].display);
  std::string msg = g.name + ": no overload accepts (" + given + "):";
  for (size_t k = 0; k < g.overloads.size(); k++) msg += "\n  " + g.overloads[k].display + ": " + reasons[k];
  throw Napi::TypeError::New(env, msg);
}

}  // namespace

Napi::Value OpGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "opGroup(name): name must be a string such as 'aten::add'");
  return Napi::Number::New(env, findOrCreateGroup(env, info[0].As<Napi::String>().Utf8Value()));
}

// The hot entry point, registered without node-addon-api's wrapper.
napi_value CallGroupRaw(napi_env env, napi_callback_info info) {
  try {
    return callGroup(env, info, false);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value CallGroupIdsRaw(napi_env env, napi_callback_info info) {
  try {
    return callGroup(env, info, true);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

Napi::Value ListSchemas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto names = c10::Dispatcher::singleton().getAllOpNames();
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (const auto& n : names) {
    auto handle = c10::Dispatcher::singleton().findOp(n);
    if (!handle || !handle->hasSchema()) continue;
    const c10::FunctionSchema& schema = handle->schema();
    Overload ov;
    bool supported = buildOverload(*handle, &ov);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", n.name);
    o.Set("overload", n.overload_name);
    std::ostringstream os;
    os << schema;
    o.Set("schema", os.str());
    o.Set("supported", supported);
    Napi::Array args = Napi::Array::New(env);
    uint32_t ai = 0;
    for (const c10::Argument& a : schema.arguments()) {
      Napi::Object ao = Napi::Object::New(env);
      bool optional;
      Kind kind = kindOf(a.real_type(), &optional);
      ao.Set("name", a.name());
      ao.Set("kind", kindName(kind));
      ao.Set("type", a.real_type()->str());
      ao.Set("optional", optional);
      ao.Set("n", a.N() ? static_cast<double>(*a.N()) : -1.0);
      ao.Set("hasDefault", a.default_value().has_value());
      ao.Set("kwOnly", a.kwarg_only());
      ao.Set("isOut", a.is_out());
      ao.Set("isWrite", a.alias_info() != nullptr && a.alias_info()->isWrite());
      args.Set(ai++, ao);
    }
    o.Set("args", args);
    Napi::Array rets = Napi::Array::New(env);
    uint32_t ri = 0;
    for (const c10::Argument& r : schema.returns()) {
      Napi::Object ro = Napi::Object::New(env);
      ro.Set("name", r.name());
      ro.Set("type", r.real_type()->str());
      ro.Set("isWrite", r.alias_info() != nullptr && r.alias_info()->isWrite());
      rets.Set(ri++, ro);
    }
    o.Set("returns", rets);
    out.Set(k++, o);
  }
  return out;
}

}  // namespace gt
