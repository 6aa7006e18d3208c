"""The model formats of the CPU trade-off table, shared by tradeoff_table.py and plots.py:
(file-name format, label, accuracy row in reports/accuracy/accuracy.json, files on disk)."""
import json
import os

LORA = "models/SmolLM2-135M-intent.LORA.gguf"


def _gguf(fmt):
    return (fmt, f"GGUF {fmt}", f"fine-tuned GGUF {fmt} (gguf-cpu)", [f"models/SmolLM2-135M-intent.{fmt}.gguf"])


# The run-time LoRA is two files: the adapter and the unchanged base it names (None here:
# the base is the file its manifest names, read when the size is taken).
FORMATS = [_gguf(f) for f in ("F16", "Q8_0", "Q5_K_M", "Q4_K_M")] + [
    ("LORA", "Q4_1 + LoRA", "Q4_1 base + run-time LoRA (gguf-cpu)", [LORA, None]),
]


def lora_base(root):
    """The base model file the run-time LoRA applies to, as named in its manifest."""
    manifest = os.path.join(root, LORA[: -len(".gguf")] + ".intent.json")
    with open(manifest, encoding="utf-8") as f:
        return os.path.join(os.path.dirname(LORA), json.load(f)["base"]["file"])


def size_mb(root, files):
    """Bytes of all the files of a format, in MB."""
    return sum(os.path.getsize(os.path.join(root, f if f is not None else lora_base(root))) for f in files) / 1e6
