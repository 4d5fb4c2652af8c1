# Python PyTorch reference for the Dubai acceptance run (configs/dubai-unet-r18.yaml): the same
# recipe written independently of geoseg — UNet-ResNet18 (random init), cross-entropy with
# ignore 255, Adam 1e-3, batches of 8 random 256² crops from the prepared tiles, flips + rot90,
# a fixed training time — then whole-scene sliding-window evaluation (512 windows, 0.25 overlap,
# hann blending) of the validation scenes. Prints one JSON line: iterations, per-class IoU, mIoU.
#
#   /usr/bin/python3 bench/dubai_train_ref.py <prepared dataset> <minutes> [threads] [seed]
import json, math, os, random, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_models import UNet
from safetensors_io import read_safetensors

folder, minutes = sys.argv[1], float(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
torch.set_num_threads(threads)
torch.manual_seed(seed)
rng = random.Random(seed)
ds = json.load(open(os.path.join(folder, "dataset.json")))
C, IGNORE, T = len(ds["classes"]), ds["ignoreIndex"], ds["tileSize"]


def read_tile(file):
    return read_safetensors(os.path.join(folder, file))


mean = torch.tensor(ds["normalization"]["mean"]).view(-1, 1, 1)
std = torch.tensor(ds["normalization"]["std"]).view(-1, 1, 1)
val = set(ds["split"]["val"])
train_tiles = [t for t in ds["tiles"] if t["id"] not in val]
model = UNet(C)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
CROP, BATCH = 256, 8


def batch():
    xs, ys = [], []
    for _ in range(BATCH):
        t = read_tile(rng.choice(train_tiles)["file"])
        x0, y0 = rng.randint(0, T - CROP), rng.randint(0, T - CROP)
        img = torch.from_numpy(t["image"][:, y0:y0 + CROP, x0:x0 + CROP].astype(np.float32))
        msk = torch.from_numpy(t["mask"][y0:y0 + CROP, x0:x0 + CROP].astype(np.int64))
        if rng.random() < 0.5:
            img, msk = img.flip(2), msk.flip(1)
        if rng.random() < 0.5:
            img, msk = img.flip(1), msk.flip(0)
        if rng.random() < 0.5:
            k = rng.randint(1, 3)
            img, msk = torch.rot90(img, k, (1, 2)), torch.rot90(msk, k, (0, 1))
        xs.append((img - mean) / std)
        ys.append(msk)
    return torch.stack(xs), torch.stack(ys)


model.train()
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < minutes * 60:
    x, y = batch()
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y, ignore_index=IGNORE)
    loss.backward()
    opt.step()
    steps += 1
train_seconds = time.perf_counter() - start

# Whole validation scenes from their tiles, sliding windows with hann blending.
W_, OV = 512, 0.25
prof = torch.sin((torch.arange(W_, dtype=torch.float64) + 0.5) * math.pi / W_) ** 2
blend = (prof.clamp(min=1e-3).float()[:, None] * prof.clamp(min=1e-3).float()[None, :])


def starts(size):
    if size <= W_:
        return [0]
    stride = max(1, W_ - round(W_ * OV))
    out = list(range(0, size - W_, stride))
    return out + [size - W_]


model.eval()
cm = torch.zeros(C, C, dtype=torch.int64)
scenes = sorted({t["scene"] for t in ds["tiles"] if t["id"] in val})
with torch.no_grad():
    for s in scenes:
        sc = ds["scenes"][s]
        H, W = sc["height"], sc["width"]
        image = torch.zeros(ds["bands"], H, W)
        mask = torch.full((H, W), IGNORE, dtype=torch.int64)
        for t in (t for t in ds["tiles"] if t["scene"] == s):
            d = read_tile(t["file"])
            h, w = min(T, H - t["y"]), min(T, W - t["x"])
            image[:, t["y"]:t["y"] + h, t["x"]:t["x"] + w] = torch.from_numpy(d["image"][:, :h, :w].astype(np.float32))
            mask[t["y"]:t["y"] + h, t["x"]:t["x"] + w] = torch.from_numpy(d["mask"][:h, :w].astype(np.int64))
        x = (image - mean) / std
        Hp, Wp = max(H, W_), max(W, W_)
        x = F.pad(x, (0, Wp - W, 0, Hp - H))
        probs = torch.zeros(C, Hp, Wp)
        total = torch.zeros(Hp, Wp)
        for yy in starts(Hp):
            for xx in starts(Wp):
                p = model(x[None, :, yy:yy + W_, xx:xx + W_]).softmax(1)[0]
                probs[:, yy:yy + W_, xx:xx + W_] += p * blend
                total[yy:yy + W_, xx:xx + W_] += blend
        pred = (probs / total)[:, :H, :W].argmax(0)
        keep = mask != IGNORE
        cm += torch.bincount(mask[keep] * C + pred[keep], minlength=C * C).view(C, C)

inter = cm.diag().double()
union = cm.sum(0).double() + cm.sum(1).double() - inter
iou = [(inter[i] / union[i]).item() if union[i] > 0 else float("nan") for i in range(C)]
valid = [v for v in iou if not math.isnan(v)]
print(json.dumps({"iterations": steps, "trainSeconds": train_seconds, "iou": iou, "mIoU": sum(valid) / len(valid),
                  "pixelAccuracy": (inter.sum() / cm.sum()).item(), "classes": [c["name"] for c in ds["classes"]]}))
