# geoseg's UNet over a torchvision ResNet-18 built in Python PyTorch with the same layers,
# channels and order (shared by the benchmark references).
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


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
    def __init__(self, classes=6):
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
        self.head = nn.Conv2d(cin, classes, 3, padding=1)

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
