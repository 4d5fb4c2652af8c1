#include "convert.h"

#include <cmath>

#include "tensors.h"

namespace gt {

Napi::Value ivalueToJs(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  if (v.isScalar()) {
    c10::Scalar s = v.toScalar();
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    return Napi::Number::New(env, s.toDouble());
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(static_cast<uint32_t>(i), ivalueToJs(env, elems[i]));
    return out;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), ivalueToJs(env, list[i]));
    return out;
  }
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    bool stringKeys = true;
    for (const auto& entry : dict) stringKeys = stringKeys && entry.key().isString();
    if (stringKeys) {
      Napi::Object out = Napi::Object::New(env);
      for (const auto& entry : dict) out.Set(entry.key().toStringRef(), ivalueToJs(env, entry.value()));
      return out;
    }
    Napi::Function mapCtor = env.Global().Get("Map").As<Napi::Function>();
    Napi::Object map = mapCtor.New({});
    Napi::Function set = map.Get("set").As<Napi::Function>();
    for (const auto& entry : dict) set.Call(map, {ivalueToJs(env, entry.key()), ivalueToJs(env, entry.value())});
    return map;
  }
  throw Napi::TypeError::New(env, "cannot convert a libtorch value of type " + v.tagKind() + " to JavaScript");
}

c10::IValue jsToIValue(Napi::Env env, Napi::Value v, const std::string& what) {
  if (v.IsNull() || v.IsUndefined()) return c10::IValue();
  at::Tensor tp;
  Lookup l = lookupTensor(env, v, &tp);
  if (l == Lookup::Tensor) return c10::IValue(tp);
  if (l == Lookup::Disposed) return c10::IValue(expectTensor(env, v, what));  // throws, naming what
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::nearbyint(d) == d && std::abs(d) < 9007199254740992.0) return c10::IValue(static_cast<int64_t>(d));
    return c10::IValue(d);
  }
  if (v.IsString()) return c10::IValue(v.As<Napi::String>().Utf8Value());
  if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    bool allTensors = arr.Length() > 0;
    for (uint32_t i = 0; i < arr.Length() && allTensors; i++) allTensors = lookupTensor(env, arr.Get(i), &tp) != Lookup::NotTensor;
    if (allTensors) {
      c10::List<at::Tensor> list;
      for (uint32_t i = 0; i < arr.Length(); i++) list.push_back(expectTensor(env, arr.Get(i), what + "[" + std::to_string(i) + "]"));
      return c10::IValue(list);
    }
    c10::impl::GenericList list(c10::AnyType::get());
    for (uint32_t i = 0; i < arr.Length(); i++) list.push_back(jsToIValue(env, arr.Get(i), what + "[" + std::to_string(i) + "]"));
    return c10::IValue(list);
  }
  if (v.IsObject()) {
    auto obj = v.As<Napi::Object>();
    auto keys = obj.GetPropertyNames();
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      dict.insert(key, jsToIValue(env, obj.Get(key), what + "." + key));
    }
    return c10::IValue(dict);
  }
  throw Napi::TypeError::New(env, what + ": cannot pass a " + jsTypeName(env, v) + " to libtorch");
}

}  // namespace gt
