"""A small GGUF reader: metadata, tensor table and dequantized tensors (numpy).

Written from the GGUF format description (llama.cpp's ggml/docs/gguf.md). It reads
what the engine's default base model uses (F32, F16, Q8_0, Q4_0, Q4_1) and refuses
anything else by name. It serves the training scripts on the GPU host, where no Rust
toolchain is available, and the tests that check the Rust exporter against it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GGUF_MAGIC = b"GGUF"

# Metadata value types.
_SCALARS = {
    0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
    6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9

# ggml tensor types this reader decodes: id -> (name, elements per block, bytes per block).
TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    8: ("Q8_0", 32, 34),
}


@dataclass
class TensorInfo:
    """One entry of the tensor table."""

    name: str
    dims: tuple[int, ...]  # ggml order: dims[0] is the fastest-varying (in_features)
    type_id: int
    offset: int  # from the start of the data section

    @property
    def shape(self) -> tuple[int, ...]:
        """numpy (row-major) shape: the ggml dims reversed, e.g. (out_features, in_features)."""
        return tuple(reversed(self.dims))

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.dims, dtype=np.int64))

    @property
    def type_name(self) -> str:
        return TYPES.get(self.type_id, (f"type {self.type_id}",))[0]


class GgufFile:
    """A GGUF file opened for reading (memory-mapped)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        self._pos = 0
        if bytes(self._data[:4]) != GGUF_MAGIC:
            raise ValueError(f"{self.path}: not a GGUF file (bad magic)")
        self._pos = 4
        self.version = self._scalar("<I", 4)
        if self.version not in (2, 3):
            raise ValueError(f"{self.path}: GGUF version {self.version} is not supported (2 or 3)")
        n_tensors = self._scalar("<Q", 8)
        n_kv = self._scalar("<Q", 8)
        self.metadata: dict[str, object] = {}
        for _ in range(n_kv):
            key = self._string()
            self.metadata[key] = self._value(self._scalar("<I", 4))
        self.tensors: dict[str, TensorInfo] = {}
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._scalar("<I", 4)
            dims = tuple(self._scalar("<Q", 8) for _ in range(n_dims))
            type_id = self._scalar("<I", 4)
            offset = self._scalar("<Q", 8)
            self.tensors[name] = TensorInfo(name, dims, type_id, offset)
        alignment = int(self.metadata.get("general.alignment", 32))
        self.data_offset = (self._pos + alignment - 1) // alignment * alignment

    # -- header parsing -------------------------------------------------------------
    def _scalar(self, fmt: str, size: int):
        if self._pos + size > len(self._data):
            raise ValueError(f"{self.path}: truncated header")
        (v,) = struct.unpack(fmt, bytes(self._data[self._pos:self._pos + size]))
        self._pos += size
        return v

    def _string(self) -> str:
        n = self._scalar("<Q", 8)
        if self._pos + n > len(self._data):
            raise ValueError(f"{self.path}: truncated string in header")
        s = bytes(self._data[self._pos:self._pos + n]).decode("utf-8")
        self._pos += n
        return s

    def _value(self, vtype: int):
        if vtype in _SCALARS:
            return self._scalar(*_SCALARS[vtype])
        if vtype == _STRING:
            return self._string()
        if vtype == _ARRAY:
            etype = self._scalar("<I", 4)
            n = self._scalar("<Q", 8)
            if etype in _SCALARS:
                fmt, size = _SCALARS[etype]
                arr = np.frombuffer(bytes(self._data[self._pos:self._pos + n * size]), dtype=np.dtype(fmt))
                self._pos += n * size
                return arr.tolist()
            return [self._value(etype) for _ in range(n)]
        raise ValueError(f"{self.path}: unknown metadata type {vtype}")

    # -- tensors --------------------------------------------------------------------
    def raw(self, name: str) -> np.ndarray:
        """The bytes of a tensor as stored."""
        info = self.tensors[name]
        if info.type_id not in TYPES:
            raise ValueError(f"{name}: tensor type {info.type_name} is not supported by this reader")
        _, block, size = TYPES[info.type_id]
        if info.n_elements % block:
            raise ValueError(f"{name}: {info.n_elements} elements is not a whole number of blocks")
        start = self.data_offset + info.offset
        end = start + info.n_elements // block * size
        if end > len(self._data):
            raise ValueError(f"{name}: tensor data runs past the end of the file")
        return np.asarray(self._data[start:end])

    def tensor(self, name: str) -> np.ndarray:
        """A tensor dequantized to float32, in numpy shape (dims reversed)."""
        info = self.tensors[name]
        return dequantize(self.raw(name), info.type_id).reshape(info.shape)


def dequantize(raw: np.ndarray, type_id: int) -> np.ndarray:
    """Decodes a flat run of ggml blocks to float32."""
    name, block, size = TYPES[type_id]
    if name == "F32":
        return raw.view("<f4").astype(np.float32)
    if name == "F16":
        return raw.view("<f2").astype(np.float32)
    blocks = raw.reshape(-1, size)
    d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)
    if name == "Q8_0":
        q = blocks[:, 2:].view(np.int8).astype(np.float32)
        return (d * q).reshape(-1)
    if name in ("Q4_0", "Q4_1"):
        qs_start = 2 if name == "Q4_0" else 4
        qs = blocks[:, qs_start:]
        # Element j (0..15) is the low nibble of byte j, element j+16 the high nibble.
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
        if name == "Q4_0":
            return (d * (q - 8.0)).reshape(-1)
        m = blocks[:, 2:4].copy().view("<f2").astype(np.float32)
        return (d * q + m).reshape(-1)
    raise ValueError(f"tensor type {name} is not supported by this reader")
