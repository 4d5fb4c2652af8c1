# safetensors read by hand for the Python references (no safetensors package on Debian):
# 8-byte little-endian header length, a JSON header, then the raw little-endian data.
import json, struct
import numpy as np

DT = {"U8": np.uint8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "F32": np.float32, "F64": np.float64}


def read_safetensors(path):
    """Every tensor of the file as a read-only numpy array, by name."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=DT[e["dtype"]]).reshape(e["shape"])
    return out
