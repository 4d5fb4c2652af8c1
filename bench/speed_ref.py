# Reference for bench/speed.ts (issue 20): the same cases in Python PyTorch. UNet-ResNet18
# training steps at 8x3x256x256 (fp32 NCHW, fp32 channels-last, bf16 autocast channels-last) and
# ResNet-50 encoder forwards at 8x3x512x512 (fp32 NCHW, fp32 channels-last, bf16 autocast and bf16
# weights, channels-last). Server: each stdin line "<case> <n>" runs one warm-up and n timed
# iterations and prints their durations (s) as a JSON list.
import json, sys, time
import torch
import torch.nn.functional as F
import torchvision
from ref_models import UNet, features

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
CL = torch.channels_last


def unet_case(layout, bf16):
    m = UNet(6)
    x = torch.randn(8, 3, 256, 256)
    y = torch.randint(0, 6, (8, 256, 256))
    if layout == "cl":
        m = m.to(memory_format=CL)
        x = x.contiguous(memory_format=CL)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m.train()

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = m(x)
        F.cross_entropy(out.float(), y).backward()
        opt.step()
    return step


def resnet_case(layout, precision):
    r = torchvision.models.resnet50()
    del r.fc
    r.eval()
    x = torch.randn(8, 3, 512, 512)
    if layout == "cl":
        r = r.to(memory_format=CL)
        x = x.contiguous(memory_format=CL)
    if precision == "bf16-weights":
        r = r.to(torch.bfloat16)
        x = x.to(torch.bfloat16)

    def forward():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-autocast"):
            features(r, x)
    return forward


CASES = {
    "unet-fp32-nchw": lambda: unet_case("nchw", False),
    "unet-fp32-cl": lambda: unet_case("cl", False),
    "unet-bf16-cl": lambda: unet_case("cl", True),
    "resnet50-fp32-nchw": lambda: resnet_case("nchw", "fp32"),
    "resnet50-fp32-cl": lambda: resnet_case("cl", "fp32"),
    "resnet50-bf16-autocast-cl": lambda: resnet_case("cl", "bf16-autocast"),
    "resnet50-bf16-weights-cl": lambda: resnet_case("cl", "bf16-weights"),
}

print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    name, n = line.split()
    run = CASES[name]()
    run()
    times = []
    for _ in range(int(n)):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
