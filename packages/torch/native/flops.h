// FLOP counting of convolutions and matrix products at the dispatcher (flops.cc).
#pragma once
#include <napi.h>

namespace gt {
void RegisterFlops(Napi::Env env, Napi::Object exports);
}
