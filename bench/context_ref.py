# Reference for bench/context.ts: HRNetV2-W18 + OCR, BiSeNet-ResNet18, FactSeg-ResNet50 and
# UNet++-ResNet18 as the independent Python implementations of the decoder fixture
# (packages/geoseg/test/fixtures/reference_decoders.py), timed for an eval forward and a training
# step (forward, the weighted cross-entropies of every training output — FactSeg: its joint
# probability loss with small object mining at 0.1, as the reference's JointLoss — backward, SGD
# with momentum) at 2x3x512x512.
#   server:  context_ref.py <threads> <model> ...   stdin "<model> <mode> <n>" → durations (s)
#   memory:  context_ref.py <threads> --memory <model>   one training step in a fresh process →
#            peak RSS (MB) and its growth over the RSS before the step
import json, os, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packages", "geoseg", "test", "fixtures"))
import reference_decoders as ref

torch.set_num_threads(int(sys.argv[1]))
ref.CLASSES = 6
BATCH, SIZE = 2, 512
# the architectures' default objectives (geoseg's registry says the same; the bench checks it)
def joint_som(outputs, y, ratio=0.1):
    # FactSeg's JointLoss: the renormalised joint probability in probability space, per-pixel NLL,
    # then the mean of the top ratio of the pixel losses that are not 0
    s = outputs["out"].softmax(1)
    f = torch.sigmoid(outputs["binary"])
    p = torch.cat([(1 - f) * s[:, :1], f * s[:, 1:]], 1)
    losses = F.nll_loss(torch.log(p / p.sum(1, keepdim=True)), y, reduction="none")
    top = losses.reshape(-1).topk(int(ratio * losses.numel()))[0]
    kept = top != 0
    return top[kept].sum() / kept.sum()


# the architectures' default objectives (output weights, or a loss over all outputs)
MODELS = {
    "hrnet_ocr-w18": (lambda: ref.HRNetOCR(18), {"out": 1, "aux": 0.4}),
    "bisenet-resnet18": (lambda: ref.BiSeNet(), {"out": 1, "aux16": 1, "aux8": 1}),
    "factseg-resnet50": (lambda: ref.FactSeg(encoder=ref.ResNet50Features()), {"out": 1, "binary": 0}),
    "unetpp-resnet18": (lambda: ref.UNetPP(), {"out": 1}),
}
LOSSES = {"factseg-resnet50": joint_som}


def status_mb(field):
    # /proc's VmHWM is this process's own peak (getrusage's maxrss is inherited across fork and exec)
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) / 1024


torch.manual_seed(0)
x = torch.randn(BATCH, 3, SIZE, SIZE)
y = torch.randint(0, ref.CLASSES, (BATCH, SIZE, SIZE))


name_of = {}


def build(name):
    make, weights = MODELS[name]
    m = make()
    name_of[id(m)] = name
    return m, weights, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)


def step(m, weights, opt, mode):
    if mode == "forward":
        m.eval()
        with torch.no_grad():
            m(x)
    else:
        m.train()
        opt.zero_grad()
        outputs = m(x)
        loss = LOSSES.get(name_of[id(m)])
        (loss(outputs, y) if loss else sum(w * F.cross_entropy(outputs[k], y) for k, w in weights.items())).backward()
        opt.step()


if len(sys.argv) > 3 and sys.argv[2] == "--memory":
    m, weights, opt = build(sys.argv[3])
    before = status_mb("VmRSS")
    step(m, weights, opt, "train")
    peak = status_mb("VmHWM")
    print(json.dumps({"peakRssMB": peak, "stepGrowthMB": peak - before}))
    sys.exit(0)

built = {name: build(name) for name in sys.argv[2:]}
print(json.dumps({"parameters": {k: sum(p.numel() for p in b[0].parameters()) for k, b in built.items()},
                  "objectives": {k: MODELS[k][1] for k in built}}), flush=True)
for line in sys.stdin:
    name, mode, n = line.split()
    m, weights, opt = built[name]
    step(m, weights, opt, mode)
    step(m, weights, opt, mode)
    times = []
    for _ in range(int(n)):
        t = time.perf_counter()
        step(m, weights, opt, mode)
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
