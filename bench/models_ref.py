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

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
BATCH, SIZE, CLASSES = 8, 256, 6


def cbr(cin, cout, k, dilation=1):
    pad = 0 if k == 1 else dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def features(r, x):
    s2 = r.relu(r.bn1(r.conv1(x)))
    s4 = r.layer1(r.maxpool(s2))
    s8 = r.layer2(s4)
    s16 = r.layer3(s8)
    return [s2, s4, s8, s16, r.layer4(s16)]


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torchvision.models.resnet18()
        del self.encoder.fc
        ch = [64, 64, 128, 256, 512]
        skips = [ch[3], ch[2], ch[1], ch[0], 0]
        dec = [256, 128, 64, 32, 16]
        blocks, cin = [], ch[4]
        for i, cout in enumerate(dec):
            blocks.append(nn.Sequential(cbr(cin + skips[i], cout, 3), cbr(cout, cout, 3)))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, CLASSES, 3, padding=1)

    def forward(self, x):
        f = features(self.encoder, x)
        skips = [f[3], f[2], f[1], f[0], None]
        y = f[4]
        for block, skip in zip(self.decoder, skips):
            size = skip.shape[-2:] if skip is not None else [s * 2 for s in y.shape[-2:]]
            y = F.interpolate(y, size=size, mode="nearest")
            if skip is not None:
                y = torch.cat([y, skip], 1)
            y = block(y)
        return self.head(y)


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
models = {"unet-resnet18": UNet(), "deeplabv3plus-resnet50": DeepLabV3Plus()}
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
