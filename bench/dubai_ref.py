# The Python reference's side of the Dubai recipe, written independently of geoseg: the prepared
# dataset (tiles as safetensors, dataset.json), the plain recipe's batches (random tile, random
# 256² crop, flips + rot90, normalized), and the whole-scene evaluation (each validation scene
# rebuilt from its tiles, sliding 512 windows with 0.25 overlap on geoseg's evenly spread grid
# and hann blending, one confusion matrix over all scenes, ignore pixels excluded). Used by bench/dubai_train_ref.py,
# bench/train_equivalence.py and bench/loader_check.py.
import json, math, os, random
import numpy as np
import torch
import torch.nn.functional as F

from safetensors_io import read_safetensors


class Dataset:
    def __init__(self, folder):
        self.folder = folder
        self.info = json.load(open(os.path.join(folder, "dataset.json")))
        self.classes = [c["name"] for c in self.info["classes"]]
        self.ignore = self.info["ignoreIndex"]
        self.tile_size = self.info["tileSize"]
        self.mean = torch.tensor(self.info["normalization"]["mean"]).view(-1, 1, 1)
        self.std = torch.tensor(self.info["normalization"]["std"]).view(-1, 1, 1)
        val = set(self.info["split"]["val"])
        self.train_tiles = [t for t in self.info["tiles"] if t["id"] not in val]
        self.val_tiles = [t for t in self.info["tiles"] if t["id"] in val]

    def read_tile(self, file):
        return read_safetensors(os.path.join(self.folder, file))


class RecipeBatches:
    """Batches of the plain recipe: a uniformly drawn training tile and crop corner per sample,
    horizontal and vertical flips and a rot90 by 1-3 quarter turns, each with probability 0.5."""

    def __init__(self, ds, seed, crop=256, batch=8):
        self.ds, self.crop, self.batch, self.rng = ds, crop, batch, random.Random(seed)

    def next(self):
        ds, rng, crop, span = self.ds, self.rng, self.crop, self.ds.tile_size - self.crop
        xs, ys = [], []
        for _ in range(self.batch):
            t = ds.read_tile(rng.choice(ds.train_tiles)["file"])
            x0, y0 = rng.randint(0, span), rng.randint(0, span)
            img = torch.from_numpy(t["image"][:, y0:y0 + crop, x0:x0 + crop].astype(np.float32))
            msk = torch.from_numpy(t["mask"][y0:y0 + crop, x0:x0 + crop].astype(np.int64))
            if rng.random() < 0.5:
                img, msk = img.flip(2), msk.flip(1)
            if rng.random() < 0.5:
                img, msk = img.flip(1), msk.flip(0)
            if rng.random() < 0.5:
                k = rng.randint(1, 3)
                img, msk = torch.rot90(img, k, (1, 2)), torch.rot90(msk, k, (0, 1))
            xs.append((img - ds.mean) / ds.std)
            ys.append(msk)
        return torch.stack(xs), torch.stack(ys)


def window_starts(size, window, overlap):
    """geoseg's window grid (infer/window-grid.ts windowStarts): as many windows as the tiler
    would use (stride from the overlap, the last one at the border), spread evenly. Halves round
    up, as JavaScript's Math.round does (Python's round goes to even)."""
    js_round = lambda v: math.floor(v + 0.5)
    if size <= window:
        return [0]
    stride = max(1, window - js_round(window * overlap))
    n = len(range(0, size - window, stride)) + 1
    return [js_round(k * (size - window) / (n - 1)) for k in range(n)]


def evaluate(model, ds, window=512, overlap=0.25):
    """Per-class IoU, mIoU and pixel accuracy of `model` on the whole validation scenes."""
    C, T, IGNORE = len(ds.classes), ds.tile_size, ds.ignore
    prof = torch.sin((torch.arange(window, dtype=torch.float64) + 0.5) * math.pi / window) ** 2
    blend = prof.clamp(min=1e-3).float()[:, None] * prof.clamp(min=1e-3).float()[None, :]
    model.eval()
    cm = torch.zeros(C, C, dtype=torch.int64)
    with torch.no_grad():
        for s in sorted({t["scene"] for t in ds.val_tiles}):
            sc = ds.info["scenes"][s]
            H, W = sc["height"], sc["width"]
            image = torch.zeros(ds.info["bands"], H, W)
            mask = torch.full((H, W), IGNORE, dtype=torch.int64)
            for t in (t for t in ds.info["tiles"] if t["scene"] == s):
                d = ds.read_tile(t["file"])
                h, w = min(T, H - t["y"]), min(T, W - t["x"])
                image[:, t["y"]:t["y"] + h, t["x"]:t["x"] + w] = torch.from_numpy(d["image"][:, :h, :w].astype(np.float32))
                mask[t["y"]:t["y"] + h, t["x"]:t["x"] + w] = torch.from_numpy(d["mask"][:h, :w].astype(np.int64))
            x = (image - ds.mean) / ds.std
            Hp, Wp = max(H, window), max(W, window)
            x = F.pad(x, (0, Wp - W, 0, Hp - H))
            probs = torch.zeros(C, Hp, Wp)
            total = torch.zeros(Hp, Wp)
            for yy in window_starts(Hp, window, overlap):
                for xx in window_starts(Wp, window, overlap):
                    p = model(x[None, :, yy:yy + window, xx:xx + window]).softmax(1)[0]
                    probs[:, yy:yy + window, xx:xx + window] += p * blend
                    total[yy:yy + window, xx:xx + window] += blend
            pred = (probs / total)[:, :H, :W].argmax(0)
            keep = mask != IGNORE
            cm += torch.bincount(mask[keep] * C + pred[keep], minlength=C * C).view(C, C)
    inter = cm.diag().double()
    union = cm.sum(0).double() + cm.sum(1).double() - inter
    iou = [(inter[i] / union[i]).item() if union[i] > 0 else float("nan") for i in range(C)]
    valid = [v for v in iou if not math.isnan(v)]
    return {"iou": iou, "mIoU": sum(valid) / len(valid), "pixelAccuracy": (inter.sum() / cm.sum()).item(), "classes": ds.classes}
