// Calling any ATen operator by name through the c10 dispatcher (boxed), with arguments converted
// from JS by the operator schema's argument types.
#pragma once
#include "common.h"

namespace gt {

// opGroup(name) -> id. "aten::add" names every overload of add; "aten::add.Tensor" one overload.
Napi::Value OpGroup(const Napi::CallbackInfo& info);
// callGroup(id, ...args[, kwargs]) -> result of the first overload whose schema accepts the args.
napi_value CallGroupRaw(napi_env env, napi_callback_info info);
// The same, with the slot ids of the positional arguments given in the shared array.
napi_value CallGroupIdsRaw(napi_env env, napi_callback_info info);
// listSchemas() -> every operator schema the dispatcher knows, for the wrapper generator.
Napi::Value ListSchemas(const Napi::CallbackInfo& info);

}  // namespace gt
