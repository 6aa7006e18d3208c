"""A minimal safetensors reader (numpy only): an 8-byte little-endian header length, a JSON
header naming each tensor's dtype, shape and byte range, then the raw data."""

import json
import struct
from pathlib import Path

import numpy as np

DTYPES = {"F16": "<f2", "F32": "<f4", "BF16": "<u2", "I32": "<i4", "I64": "<i8", "U8": "u1", "I8": "i1"}


def read(path: Path) -> dict:
    """Every tensor of the file by name, in its stored dtype (BF16 as raw uint16)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + start:8 + n + end], dtype=DTYPES[info["dtype"]])
        out[name] = data.reshape(info["shape"])
    return out
