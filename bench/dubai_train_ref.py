# Python PyTorch reference for the Dubai acceptance run (configs/dubai-unet-r18.yaml): the same
# recipe written independently of geoseg — UNet-ResNet18 (random init), cross-entropy with
# ignore 255, Adam 1e-3, batches of 8 random 256² crops from the prepared tiles, flips + rot90,
# a fixed training time or number of iterations — then whole-scene sliding-window evaluation
# (bench/dubai_eval_ref.py) of the validation scenes. Prints one JSON line: iterations, per-class
# IoU, mIoU.
#
#   /usr/bin/python3 bench/dubai_train_ref.py <prepared dataset> <minutes> [threads] [seed] [iterations]
#   (iterations 0 or absent: no cap; minutes 0: no time limit)
import json, os, random, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_models import UNet
from dubai_eval_ref import Dataset, evaluate

folder, minutes = sys.argv[1], float(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
max_steps = int(sys.argv[5]) if len(sys.argv) > 5 and int(sys.argv[5]) > 0 else float("inf")
budget = minutes * 60 if minutes > 0 else float("inf")
torch.set_num_threads(threads)
torch.manual_seed(seed)
rng = random.Random(seed)
ds = Dataset(folder)
T, IGNORE = ds.tile_size, ds.ignore
model = UNet(len(ds.classes))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
CROP, BATCH = 256, 8


def batch():
    xs, ys = [], []
    for _ in range(BATCH):
        t = ds.read_tile(rng.choice(ds.train_tiles)["file"])
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
        xs.append((img - ds.mean) / ds.std)
        ys.append(msk)
    return torch.stack(xs), torch.stack(ys)


model.train()
steps, start = 0, time.perf_counter()
while steps < max_steps and time.perf_counter() - start < budget:
    x, y = batch()
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y, ignore_index=IGNORE)
    loss.backward()
    opt.step()
    steps += 1
train_seconds = time.perf_counter() - start

result = evaluate(model, ds)
print(json.dumps({"iterations": steps, "trainSeconds": train_seconds, **result}))
