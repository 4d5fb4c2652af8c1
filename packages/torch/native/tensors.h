// The tensor table and the functions JS calls on a tensor id.
#pragma once
#include "common.h"

namespace gt {

// Put t in the table and return its id (t must be defined).
int32_t storeTensor(napi_env env, at::Tensor t);
// A JS Tensor for t (JS null when t is undefined), made by the JS factory.
Napi::Value wrapTensor(Napi::Env env, at::Tensor t);

enum class Lookup { Tensor, NotTensor, Disposed };
// Whether v is a JS Tensor; sets *out to its slot when it is a live one.
Lookup lookupTensor(napi_env env, napi_value v, at::Tensor** out);
// The same with the per-call lookups done by the caller (v is known to be an object).
Lookup lookupTensorIn(napi_env env, AddonData* d, napi_value idKey, napi_value v, at::Tensor** out);
// The tensor behind v; throws a JS error naming `what` otherwise.
at::Tensor& expectTensor(Napi::Env env, napi_value v, const std::string& what);

void InitTensorFunctions(Napi::Env env, Napi::Object exports);

}  // namespace gt
