{
  "targets": [
    {
      "target_name": "torch_native",
      "sources": [
        "native/addon.cc",
        "native/tensors.cc",
        "native/convert.cc",
        "native/ops.cc",
        "native/serialize.cc",
        "native/cpu_cache.cc",
        "native/distributed.cc",
        "native/overlapped_backward.cc",
        "native/flops.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch-config.mjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/libtorch-config.mjs abi)",
        "GEOSEG_GLOO=<!(node scripts/libtorch-config.mjs gloo)",
        "GEOSEG_NCCL=<!(node scripts/libtorch-config.mjs nccl)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node scripts/libtorch-config.mjs libdir)",
        "-Wl,--no-as-needed",
        "<!@(node scripts/libtorch-config.mjs libs)",
        "-Wl,--as-needed",
        "-Wl,-rpath,<!(node scripts/libtorch-config.mjs libdir)"
      ],
      "conditions": [
        ["<!(node -p \"process.env.TORCH_NATIVE_ASAN === '1' ? 1 : 0\")==1", {
          "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address"]
        }]
      ]
    }
  ]
}
