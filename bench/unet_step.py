# Reference for bench/unet-step.ts: one UNet training step (forward, cross-entropy, backward,
# Adam step) at 4x3x256x256 in Python PyTorch. Runs as a server: each stdin line "N" runs N steps
# and prints their durations in seconds as a JSON list.
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, cin=3, classes=6, base=16):
        super().__init__()
        ch = [base * 2 ** i for i in range(5)]  # 16 32 64 128 256
        self.downs = nn.ModuleList([DoubleConv(cin, ch[0])] + [DoubleConv(ch[i], ch[i + 1]) for i in range(4)])
        self.ups = nn.ModuleList([DoubleConv(ch[i + 1] + ch[i], ch[i]) for i in reversed(range(4))])
        self.head = nn.Conv2d(ch[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, down in enumerate(self.downs):
            x = down(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for up in self.ups:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = up(torch.cat([x, skip], 1))
        return self.head(x)


model = UNet()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(4, 3, 256, 256)
y = torch.randint(0, 6, (4, 256, 256))


def step():
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


step()
step()
print(json.dumps({"ready": True, "parameters": sum(p.numel() for p in model.parameters())}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
