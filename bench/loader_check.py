# Loader check for the Dubai recipe (part of bench/train-equivalence.ts): do geoseg's batches
# (written by the bench as batch-<k>.safetensors) and the Python reference's (dubai_ref.py's
# RecipeBatches) draw crops from the same distribution? Both are compared with the exact expected
# class mix of a uniform training tile and a uniform crop corner: a pixel at row y of a tile is
# inside a random crop with probability cover(y)·cover(x), cover(y) = (number of corners whose crop
# holds y) / (span + 1). Flips and rotations do not change a crop's class mix. Prints one JSON line:
# per class (and ignore) the expected share, each side's share and its z-score (difference over
# the standard error from the spread between crops).
#
#   /usr/bin/python3 bench/loader_check.py <work folder> <batches> <prepared dataset> [seed]
import json, os, sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors
from dubai_ref import Dataset, RecipeBatches

work, batches, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
ds = Dataset(folder)
C, T, CROP = len(ds.classes), ds.tile_size, 256
span = T - CROP


def ignore_last(mask):
    """Class ids with the ignore index moved to C (so bincounts have C + 1 bins)."""
    m = mask.astype(np.int64)
    return np.where(m == ds.ignore, C, m)


def shares(mask):
    """Per-crop share of each class, ignore last: [crops, C + 1]."""
    m = ignore_last(mask.reshape(mask.shape[0], -1))
    counts = np.stack([(m == c).sum(1) for c in range(C + 1)], 1)
    return counts / m.shape[1]


y = np.arange(T)
cover = (np.minimum(y, span) - np.maximum(0, y - CROP + 1) + 1) / (span + 1)
weight = cover[:, None] * cover[None, :] / CROP**2  # sums to 1 over the tile
expected = np.zeros(C + 1)
for t in ds.train_tiles:
    m = ignore_last(ds.read_tile(t["file"])["mask"])
    expected += np.bincount(m.ravel(), weights=weight.ravel(), minlength=C + 1)
expected /= len(ds.train_tiles)

geoseg = np.concatenate([shares(read_safetensors(os.path.join(work, f"batch-{k}.safetensors"))["masks"]) for k in range(1, batches + 1)])
draw = RecipeBatches(ds, seed)
python = np.concatenate([shares(draw.next()[1].numpy()) for _ in range(batches)])


def side(s):
    mean, se = s.mean(0), s.std(0, ddof=1) / np.sqrt(len(s))
    return {"share": mean.tolist(), "z": ((mean - expected) / np.maximum(se, 1e-12)).tolist(), "crops": len(s)}


print(json.dumps({"classes": ds.classes + ["ignore"], "expected": expected.tolist(), "geoseg": side(geoseg), "python": side(python)}))
