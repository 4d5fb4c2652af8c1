# The Python side of bench/train-equivalence.ts: bench/ref_models.py's UNet-ResNet18 loaded with
# the weights geoseg initialised, trained on the batches geoseg's loader made (cross-entropy with
# the dataset's ignore index, Adam 1e-3); prints one JSON line: the losses, and how far the final weights are
# from geoseg's.
#
#   /usr/bin/python3 bench/train_equivalence.py <work folder> <steps> <ignore index> [threads]
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_models import UNet
from safetensors_io import read_safetensors

work, steps = sys.argv[1], int(sys.argv[2])
ignore = int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)


def read_tensors(path):
    return {name: torch.from_numpy(a.copy()) for name, a in read_safetensors(path).items()}


init = read_tensors(os.path.join(work, "init.safetensors"))
classes = init["head.weight"].shape[0]
model = UNet(classes)
model.load_state_dict(init, strict=True)
batches = read_tensors(os.path.join(work, "batches.safetensors"))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model.train()
losses = []
for k in range(1, steps + 1):
    opt.zero_grad()
    loss = F.cross_entropy(model(batches[f"images.{k}"]), batches[f"masks.{k}"], ignore_index=ignore)
    loss.backward()
    opt.step()
    losses.append(loss.item())

theirs = read_tensors(os.path.join(work, "after.safetensors"))
worst, worst_name = 0.0, ""
for name, p in model.state_dict().items():
    if not p.is_floating_point():
        continue
    d = ((p - theirs[name]).abs().max() / p.abs().max().clamp(min=1e-12)).item()
    if d > worst:
        worst, worst_name = d, name
print(json.dumps({"losses": losses, "maxRelWeightDiff": worst, "worst": worst_name}))
