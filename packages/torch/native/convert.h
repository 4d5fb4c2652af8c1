// Generic conversions between c10::IValue and JS values (returns, pickles, TorchScript I/O).
#pragma once
#include <ATen/core/ivalue.h>
#include "common.h"

namespace gt {

// Tensor -> Tensor, tuple/list -> array, dict -> object (string keys) or Map, scalars -> JS.
Napi::Value ivalueToJs(Napi::Env env, const c10::IValue& v);
// Tensor -> Tensor, number -> int/double, boolean, string, null -> None,
// array of tensors -> Tensor[], other arrays -> list, plain object -> Dict[str, ...].
c10::IValue jsToIValue(Napi::Env env, Napi::Value v, const std::string& what);

}  // namespace gt
