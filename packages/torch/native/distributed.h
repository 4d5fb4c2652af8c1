// c10d: TCPStore, process groups (Gloo; NCCL in CUDA builds), collectives. See distributed.cc.
#pragma once
#include <napi.h>

#ifndef GEOSEG_GLOO
#define GEOSEG_GLOO 0
#endif
#ifndef GEOSEG_NCCL
#define GEOSEG_NCCL 0
#endif

#if GEOSEG_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

namespace gt {
void InitDistributed(Napi::Env env, Napi::Object exports);

#if GEOSEG_GLOO
// The process group behind a JS group handle (throws a TypeError for anything else).
c10::intrusive_ptr<c10d::ProcessGroup> expectGroup(Napi::Env env, const Napi::Value& v, const char* what);
// backwardAveraged(group, loss, parameters, buckets): see overlapped_backward.cc.
Napi::Value BackwardAveraged(const Napi::CallbackInfo& info);
#endif
}
