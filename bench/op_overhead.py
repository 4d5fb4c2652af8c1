# Reference for bench/op-overhead.ts: microseconds per `a.add(b)` on 8-element float32 tensors in
# Python PyTorch. Runs as a server so rounds can alternate with the TypeScript ones: each stdin
# line "N" runs N adds and prints the microseconds per add.
import sys, time
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
a = torch.zeros(8)
b = torch.ones(8)
for _ in range(20_000):
    a.add(b)
print("ready", torch.__version__, flush=True)
for line in sys.stdin:
    n = int(line)
    t = time.perf_counter()
    for _ in range(n):
        a.add(b)
    print((time.perf_counter() - t) / n * 1e6, flush=True)
