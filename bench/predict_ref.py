# Python reference for bench/predict.ts: mmsegmentation-style "slide" inference of the same
# UNet-ResNet18 over a scene read window by window with GDAL, logits of every window summed into
# a full-scene buffer with a count matrix (uniform averaging), then argmax, written as a GeoTIFF.
# Same window, stride and batch as geoseg. Prints one JSON line: seconds, Mpx/s, peak RSS.
#
#   /usr/bin/python3 bench/predict_ref.py scene.tif out.tif [threads] [window] [batch]
import json, os, resource, sys, time
import numpy as np
import torch
from osgeo import gdal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_models import UNet

src, dst = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
S = int(sys.argv[4]) if len(sys.argv) > 4 else 512
B = int(sys.argv[5]) if len(sys.argv) > 5 else 4
K, OVERLAP = 5, 0.25
torch.set_num_threads(threads)
torch.manual_seed(0)
model = UNet(K).eval()
start = time.perf_counter()
ds = gdal.Open(src)
W, H = ds.RasterXSize, ds.RasterYSize


def starts(size):
    if size <= S:
        return [0]
    stride = max(1, S - round(S * OVERLAP))
    return list(range(0, size - S, stride)) + [size - S]


windows = [(x, y) for y in starts(H) for x in starts(W)]
preds = torch.zeros(K, H, W)
count = torch.zeros(1, H, W)
mean = torch.tensor([100.0, 100.0, 100.0]).view(1, 3, 1, 1)
std = torch.tensor([50.0, 50.0, 50.0]).view(1, 3, 1, 1)
with torch.inference_mode():
    for i in range(0, len(windows), B):
        group = windows[i:i + B]
        x = torch.stack([torch.from_numpy(ds.ReadAsArray(x0, y0, S, S).astype(np.float32)) for x0, y0 in group])
        logits = model((x - mean) / std)
        for j, (x0, y0) in enumerate(group):
            preds[:, y0:y0 + S, x0:x0 + S] += logits[j]
            count[:, y0:y0 + S, x0:x0 + S] += 1
classes = (preds / count).argmax(0).to(torch.uint8).numpy()
out = gdal.GetDriverByName("GTiff").Create(dst, W, H, 1, gdal.GDT_Byte, ["TILED=YES", "COMPRESS=DEFLATE"])
out.SetGeoTransform(ds.GetGeoTransform())
out.SetProjection(ds.GetProjection())
out.GetRasterBand(1).WriteArray(classes)
out = None
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "megapixelsPerSecond": W * H / 1e6 / seconds, "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "windows": len(windows)}))
