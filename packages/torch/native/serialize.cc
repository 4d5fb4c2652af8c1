#include "serialize.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "convert.h"
#include "tensors.h"

namespace gt {

Napi::Value PickleSave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::IValue value = jsToIValue(env, info[0], "torch.save");
  return guarded(env, "torch.save", [&] {
    std::vector<char> bytes = torch::jit::pickle_save(value);
    return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
  });
}

class ScriptModuleWrap : public Napi::ObjectWrap<ScriptModuleWrap> {
 public:
  explicit ScriptModuleWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ScriptModuleWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "ScriptModule: use torch.jit.load(path)");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    c10::optional<c10::Device> device;
    if (info.Length() > 1 && info[1].IsString()) {
      std::string dev = info[1].As<Napi::String>().Utf8Value();
      device = guarded(env, "torch.jit.load", [&] { return c10::Device(dev); });
    }
    module_ = guarded(env, "torch.jit.load(" + path + ")", [&] { return torch::jit::load(path, device); });
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ScriptModule",
                       {InstanceMethod<&ScriptModuleWrap::RunMethod>("runMethod"),
                        InstanceMethod<&ScriptModuleWrap::Train>("train"),
                        InstanceMethod<&ScriptModuleWrap::IsTraining>("isTraining"),
                        InstanceMethod<&ScriptModuleWrap::NamedParameters>("namedParameters"),
                        InstanceMethod<&ScriptModuleWrap::NamedBuffers>("namedBuffers"),
                        InstanceMethod<&ScriptModuleWrap::MethodNames>("methodNames")});
  }

 private:
  torch::jit::Module module_;

  // runMethod(name, ...inputs)
  Napi::Value RunMethod(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::vector<c10::IValue> inputs;
    for (size_t i = 1; i < info.Length(); i++) inputs.push_back(jsToIValue(env, info[i], "ScriptModule." + name + " input " + std::to_string(i)));
    return guarded(env, "ScriptModule." + name, [&] {
      auto method = module_.find_method(name);
      if (!method) throw Napi::Error::New(env, "ScriptModule has no method '" + name + "'");
      return ivalueToJs(env, (*method)(std::move(inputs)));
    });
  }

  Napi::Value Train(const Napi::CallbackInfo& info) {
    bool on = info.Length() < 1 || !info[0].IsBoolean() || info[0].As<Napi::Boolean>().Value();
    module_.train(on);
    return info.This();
  }

  Napi::Value IsTraining(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), module_.is_training()); }

  Napi::Value NamedParameters(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& p : module_.named_parameters(true)) out.Set(p.name, wrapTensor(info.Env(), p.value));
    return out;
  }

  Napi::Value NamedBuffers(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& b : module_.named_buffers(true)) out.Set(b.name, wrapTensor(info.Env(), b.value));
    return out;
  }

  Napi::Value MethodNames(const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env());
    uint32_t i = 0;
    for (const auto& m : module_.get_methods()) out.Set(i++, m.name());
    return out;
  }
};

void InitScriptModule(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = ScriptModuleWrap::Define(env);
  exports.Set("ScriptModule", ctor);
}

}  // namespace gt
