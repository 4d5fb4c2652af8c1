// PyTorch files: torch.save zip archives and TorchScript modules.
#pragma once
#include "common.h"

namespace gt {

// pickleSave(value) -> Buffer in torch.save's zip format.
Napi::Value PickleSave(const Napi::CallbackInfo& info);
void InitScriptModule(Napi::Env env, Napi::Object exports);

}  // namespace gt
