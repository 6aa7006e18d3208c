"""The model formats of the CPU trade-off table, shared by tradeoff_table.py and plots.py:
(file-name format, label, accuracy row in reports/accuracy/accuracy.json, files on disk)."""
import os

BASE = "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def _gguf(fmt):
    return (fmt, f"GGUF {fmt}", f"fine-tuned GGUF {fmt} (gguf-cpu)", [f"models/SmolLM2-135M-intent.{fmt}.gguf"])


# The run-time LoRA is two files: the adapter and the unchanged base it names.
FORMATS = [_gguf(f) for f in ("F16", "Q8_0", "Q5_K_M", "Q4_K_M")] + [
    ("LORA", "Q4_1 + LoRA", "Q4_1 base + run-time LoRA (gguf-cpu)", ["models/SmolLM2-135M-intent.LORA.gguf", BASE]),
]


def size_mb(root, files):
    """Bytes of all the files of a format, in MB."""
    return sum(os.path.getsize(os.path.join(root, f)) for f in files) / 1e6
