# Python PyTorch reference for the Dubai acceptance run (configs/dubai-unet-r18.yaml): the same
# recipe written independently of geoseg — UNet-ResNet18 (random init), cross-entropy with
# ignore 255, Adam 1e-3, batches of 8 random 256² crops from the prepared tiles, flips + rot90,
# a fixed training time or number of iterations — then whole-scene sliding-window evaluation
# (bench/dubai_ref.py) of the validation scenes. Prints one JSON line: iterations, per-class
# IoU, mIoU.
#
#   /usr/bin/python3 bench/dubai_train_ref.py <prepared dataset> <minutes> [threads] [seed] [iterations]
#   (iterations 0 or absent: no cap; minutes 0: no time limit)
import json, os, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_models import UNet
from dubai_ref import Dataset, RecipeBatches, evaluate

folder, minutes = sys.argv[1], float(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
max_steps = int(sys.argv[5]) if len(sys.argv) > 5 and int(sys.argv[5]) > 0 else float("inf")
budget = minutes * 60 if minutes > 0 else float("inf")
torch.set_num_threads(threads)
torch.manual_seed(seed)
ds = Dataset(folder)
model = UNet(len(ds.classes))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
batches = RecipeBatches(ds, seed)


model.train()
steps, start = 0, time.perf_counter()
while steps < max_steps and time.perf_counter() - start < budget:
    x, y = batches.next()
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y, ignore_index=ds.ignore)
    loss.backward()
    opt.step()
    steps += 1
train_seconds = time.perf_counter() - start

result = evaluate(model, ds)
print(json.dumps({"iterations": steps, "trainSeconds": train_seconds, **result}))
