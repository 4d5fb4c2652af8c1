// The tensor table and the functions JS calls on a tensor id.
#pragma once
#include "common.h"

namespace gt {

// Put t in the table and return its handle (t must be defined).
double storeTensor(napi_env env, at::Tensor t);
// A JS Tensor for t (JS null when t is undefined), made by the JS factory.
Napi::Value wrapTensor(Napi::Env env, at::Tensor t);

enum class Lookup { Tensor, NotTensor, Disposed };
// Whether v is a JS Tensor; sets *out to (a reference to) its tensor when it is a live one.
// Reading v's handle may run JS (a Proxy trap), so the tensor is taken after that, by value.
Lookup lookupTensor(napi_env env, napi_value v, at::Tensor* out);
// Whether v (known to be an object) is a JS Tensor; sets *handle when it is a live one.
Lookup lookupHandle(napi_env env, AddonData* d, napi_value idKey, napi_value v, double* handle);
// The same with the per-call lookups done by the caller (v is known to be an object).
Lookup lookupTensorIn(napi_env env, AddonData* d, napi_value idKey, napi_value v, at::Tensor* out);
// The tensor behind v; throws a JS error naming `what` otherwise.
at::Tensor expectTensor(Napi::Env env, napi_value v, const std::string& what);

void InitTensorFunctions(Napi::Env env, Napi::Object exports);

}  // namespace gt
