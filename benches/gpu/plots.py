#!/usr/bin/env python3
"""The pictures of the GPU trade-off table, as standalone SVG, from the JSON files of
benches/gpu/gptq_cuda.sh: plots.py OUT_DIR ROOT. Writes latency-accuracy.svg, memory.svg,
latency-length.svg and throughput-batch.svg."""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from svg_chart import chart  # noqa: E402

out, root = sys.argv[1], sys.argv[2]
load = lambda name: json.load(open(os.path.join(out, name))) if os.path.exists(os.path.join(out, name)) else None
STACKS = [("fp16-cuda", "f16"), ("gptq-cuda", "gptq")]
BATCHES = (1, 2, 4, 8, 16, 32)


def write(name, text):
    open(os.path.join(out, name), "w").write(text)


def peak(name):
    m = load(f"mem-{name}.json")
    return m["peak_gpu_mib"] if m else None


accuracy = {r["format"]: r["accuracy"] for r in json.load(open(os.path.join(root, "reports/accuracy/accuracy.json")))}
points = []
for stack, fmt in STACKS:
    b, c = load(f"sweep-smollm2-{fmt}-batch-1.json"), load(f"gpu_check-{fmt}.json")
    if b and c:
        points.append((f"libintent {stack}", [(b["cached"]["p50_ms"], 100 * c["gpu_f16_accuracy"])]))
torch = load("torch-smollm2-generate.json")
if torch:
    points.append(("PyTorch FP16, generating", [(torch["single_p50_ms"], 100 * accuracy["fine-tuned FP16 (PyTorch, CUDA)"])]))
if points:
    write("latency-accuracy.svg", chart("SmolLM2 fine-tuned: one query (p50) against test-split accuracy", "ms per query", "accuracy, %", points))

memory = []
for key, model in [("smollm2", "SmolLM2"), ("llama1b", "1B")]:
    for stack, fmt in STACKS:
        m = peak(f"sweep-{key}-{fmt}-batch-32")
        if m:
            memory.append((f"{model} {fmt}", m))
    m = peak(f"torch-{key}-generate")
    if m:
        memory.append((f"{model} PyTorch", m))
if memory:
    write("memory.svg", chart("Peak GPU memory per process (nvidia-smi)", "", "MiB", [("peak", memory)], bars=True))

lengths = []
for stack, fmt in STACKS:
    runs = [load(f"sweep-smollm2-{fmt}-len-{n}.json") for n in (3, 10, 20, 40)]
    runs = [b for b in runs if b]
    if runs:
        lengths.append((f"{stack}, prefix cached", [(b["median_query_tokens"], b["cached"]["p50_ms"]) for b in runs]))
        lengths.append((f"{stack}, prompt recomputed", [(b["median_query_tokens"], b["uncached"]["p50_ms"]) for b in runs]))
if lengths:
    write("latency-length.svg", chart("SmolLM2: cost against query length", "query tokens (median)", "ms per query (p50)", lengths))

batches = []
for stack, fmt in STACKS:
    runs = [(n, load(f"sweep-smollm2-{fmt}-batch-{n}.json")) for n in BATCHES]
    runs = [(n, b) for n, b in runs if b]
    if runs:
        batches.append((stack, [(n, b["batch_queries_per_s"]) for n, b in runs]))
if batches:
    write("throughput-batch.svg", chart("SmolLM2: throughput against batch size", "queries per batch", "queries/s", batches))
