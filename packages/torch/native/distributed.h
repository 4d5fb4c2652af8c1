// c10d: TCPStore, process groups (Gloo; NCCL in CUDA builds), collectives. See distributed.cc.
#pragma once
#include <napi.h>

#ifndef GEOSEG_GLOO
#define GEOSEG_GLOO 0
#endif
#ifndef GEOSEG_NCCL
#define GEOSEG_NCCL 0
#endif

namespace gt {
void InitDistributed(Napi::Env env, Napi::Object exports);
}
