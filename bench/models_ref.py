# Reference for bench/models.ts: UNet-ResNet18 and DeepLabV3+-ResNet50 built in Python PyTorch
# exactly as geoseg builds them (same layers, channels and order), timed for an eval forward and a
# training step (forward, cross-entropy, backward, Adam). Server: each stdin line
# "<arch> <mode> <n>" runs n timed iterations after two warm-ups and prints the durations (s).
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.segmentation.deeplabv3 import ASPP
from ref_models import UNet, cbr, features

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
BATCH, SIZE, CLASSES = 8, 256, 6


class DeepLabV3Plus(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torchvision.models.resnet50(replace_stride_with_dilation=[False, False, True])
        del self.encoder.fc
        self.aspp = nn.Sequential(ASPP(2048, [12, 24, 36], 256), cbr(256, 256, 3))
        self.low = cbr(256, 48, 1)
        self.decoder = cbr(304, 256, 3)
        self.head = nn.Conv2d(256, CLASSES, 1)

    def forward(self, x):
        f = features(self.encoder, x)
        low = self.low(f[1])
        high = F.interpolate(self.aspp(f[4]), size=low.shape[-2:], mode="bilinear", align_corners=False)
        y = self.decoder(torch.cat([high, low], 1))
        return F.interpolate(self.head(y), size=x.shape[-2:], mode="bilinear", align_corners=False)


torch.manual_seed(0)
models = {"unet-resnet18": UNet(CLASSES), "deeplabv3plus-resnet50": DeepLabV3Plus()}
params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
x = torch.randn(BATCH, 3, SIZE, SIZE)
y = torch.randint(0, CLASSES, (BATCH, SIZE, SIZE))
opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}


def run(arch, mode):
    m = models[arch]
    if mode == "forward":
        m.eval()
        with torch.no_grad():
            m(x)
    else:
        m.train()
        opts[arch].zero_grad()
        F.cross_entropy(m(x), y).backward()
        opts[arch].step()


print(json.dumps({"ready": True, "parameters": params}), flush=True)
for line in sys.stdin:
    arch, mode, n = line.split()
    run(arch, mode)
    run(arch, mode)
    times = []
    for _ in range(int(n)):
        t = time.perf_counter()
        run(arch, mode)
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
