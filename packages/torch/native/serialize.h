// PyTorch files: torch.save zip archives and TorchScript modules.
#pragma once
#include "common.h"

namespace gt {

// pickleLoad(bytes: Buffer) -> whatever torch.save stored (tensor, dict, list, ...).
Napi::Value PickleLoad(const Napi::CallbackInfo& info);
// pickleSave(value) -> Buffer in torch.save's zip format.
Napi::Value PickleSave(const Napi::CallbackInfo& info);
void InitScriptModule(Napi::Env env, Napi::Object exports);

}  // namespace gt
