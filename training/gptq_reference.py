"""Reference GPTQ dequantizer, written from the checkpoint format's description (AutoGPTQ /
GPTQModel / transformers layout; see docs in the repository's model-format notes), not
from the project's Rust code, so that each checks the other.

Per linear layer with K inputs, N outputs and G groups:
- qweight int32 [K / (32/bits), N]: codes packed along K, lowest bits first:
  q[k, n] = (qweight[k // per, n] >> (bits * (k % per))) & mask
- qzeros  int32 [G, N / (32/bits)]: zero points packed along N the same way;
  checkpoint_format "gptq" (v1) stores zero - 1, "gptq_v2" the zero itself
- scales  f16   [G, N]
- g_idx   int32 [K]: the group of input row k
w[n, k] = scales[g_idx[k], n] * (q[k, n] - zero[g_idx[k], n])   (nn.Linear's [N, K] layout)
"""

import json
from pathlib import Path

import numpy as np

import safetensors_file

SUFFIXES = ("qweight", "qzeros", "scales", "g_idx")


def unpack(packed: np.ndarray, bits: int, axis: int) -> np.ndarray:
    """Unpacks int32 words into 32/bits codes each along `axis` (0: rows, 1: columns)."""
    per = 32 // bits
    mask = (1 << bits) - 1
    words = packed.astype(np.int64) & 0xFFFFFFFF
    fields = [(words >> (bits * i)) & mask for i in range(per)]
    stacked = np.stack(fields, axis=axis + 1)  # field index right after the packed axis
    shape = list(packed.shape)
    shape[axis] *= per
    return stacked.reshape(shape).astype(np.int32)


def dequantize(qweight, qzeros, scales, g_idx, bits: int, checkpoint_format: str = "gptq") -> np.ndarray:
    """The float32 weight [N, K] of one layer."""
    q = unpack(qweight, bits, axis=0)  # [K, N]
    zeros = unpack(qzeros, bits, axis=1)  # [G, N]
    if checkpoint_format == "gptq":
        zeros = zeros + 1
    elif checkpoint_format != "gptq_v2":
        raise ValueError(f"checkpoint_format {checkpoint_format!r} is not 'gptq' or 'gptq_v2'")
    scale = scales.astype(np.float32)[g_idx]  # [K, N]
    zero = zeros[g_idx].astype(np.float32)
    return (scale * (q.astype(np.float32) - zero)).T.copy()


def read_config(directory: Path) -> dict:
    """quantize_config.json, quant_config.json, or config.json's quantization_config."""
    directory = Path(directory)
    for name in ("quantize_config.json", "quant_config.json"):
        if (directory / name).is_file():
            return json.loads((directory / name).read_text())
    return json.loads((directory / "config.json").read_text())["quantization_config"]


def load(directory: Path) -> dict:
    """Every tensor of a GPTQ checkpoint directory, with each quantized layer replaced by
    its dequantized float32 `<layer>.weight` (shards: every *.safetensors file)."""
    directory = Path(directory)
    config = read_config(directory)
    bits = int(config["bits"])
    fmt = config.get("checkpoint_format", "gptq")
    tensors = {}
    for shard in sorted(directory.glob("*.safetensors")):
        tensors.update(safetensors_file.read(shard))
    layers = sorted({name[: -len(".qweight")] for name in tensors if name.endswith(".qweight")})
    out = {name: t for name, t in tensors.items() if not name.endswith(SUFFIXES)}
    for layer in layers:
        parts = [tensors[f"{layer}.{s}"] for s in SUFFIXES]
        out[f"{layer}.weight"] = dequantize(*parts, bits=bits, checkpoint_format=fmt)
    return out
