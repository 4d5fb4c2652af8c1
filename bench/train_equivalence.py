# The Python side of bench/train-equivalence.ts: bench/ref_models.py's UNet-ResNet18 loaded with
# the weights geoseg initialised, trained on the batches geoseg's loader made (cross-entropy with
# the dataset's ignore index, Adam 1e-3), then evaluated on the validation scenes with
# bench/dubai_ref.py. Prints one JSON line: the losses, how far the final weights are from
# geoseg's, and the evaluation.
#
#   /usr/bin/python3 bench/train_equivalence.py <work folder> <steps> <prepared dataset> [threads]
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_models import UNet
from safetensors_io import read_safetensors
from dubai_ref import Dataset, evaluate

work, steps, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
ds = Dataset(folder)


def read_tensors(path):
    return {name: torch.from_numpy(a.copy()) for name, a in read_safetensors(path).items()}


model = UNet(len(ds.classes))
model.load_state_dict(read_tensors(os.path.join(work, "init.safetensors")), strict=True)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model.train()
losses = []
for k in range(1, steps + 1):
    b = read_tensors(os.path.join(work, f"batch-{k}.safetensors"))
    opt.zero_grad()
    loss = F.cross_entropy(model(b["images"]), b["masks"], ignore_index=ds.ignore)
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
print(json.dumps({"losses": losses, "maxRelWeightDiff": worst, "worst": worst_name, "eval": evaluate(model, ds)}))
