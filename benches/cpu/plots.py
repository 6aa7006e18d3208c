#!/usr/bin/env python3
"""The pictures of the CPU trade-off table, as standalone SVG, from the JSON files of
benches/cpu/tradeoff.sh: plots.py OUT_DIR. Writes latency-accuracy.svg, memory.svg,
latency-length.svg and throughput-batch.svg (2 threads)."""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from svg_chart import chart  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_formats import FORMATS  # noqa: E402

out = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
load = lambda name: json.load(open(os.path.join(out, name))) if os.path.exists(os.path.join(out, name)) else None
def write(name, text):
    open(os.path.join(out, name), "w").write(text)


accuracy = {r["format"]: r["accuracy"] for r in json.load(open(os.path.join(root, "reports/accuracy/accuracy.json")))}
points, memory = [], []
for fmt, label, row, _ in FORMATS:
    b = load(f"bench-{fmt}-t2.json")
    if b:
        points.append((label, [(b["cached"]["p50_ms"], 100 * accuracy[row])]))
        memory.append((label, b["peak_rss_mib"]))
torch = load("torch-fp16-t2.json")
if torch:
    points.append(("PyTorch FP16", [(torch["single_p50_ms"], 100 * accuracy["fine-tuned FP16 (PyTorch, CUDA)"])]))
    memory.append(("PyTorch FP16", torch["peak_rss_mib"]))
if points:
    write("latency-accuracy.svg", chart("One query (p50, 2 threads) against test-split accuracy", "ms per query", "accuracy, %", points))
    write("memory.svg", chart("Peak resident memory per process", "", "MiB", [("peak RSS", memory)], bars=True))
lengths = [load(f"sweep-len-{n}.json") for n in (3, 10, 20, 40)]
lengths = [b for b in lengths if b]
if lengths:
    write("latency-length.svg", chart("Cost against query length (GGUF Q4_K_M, 2 threads)", "query tokens (median)", "ms per query (p50)",
                                      [("prefix cached", [(b["median_query_tokens"], b["cached"]["p50_ms"]) for b in lengths]),
                                       ("prompt recomputed", [(b["median_query_tokens"], b["uncached"]["p50_ms"]) for b in lengths])]))
batches = [(n, load(f"sweep-batch-{n}.json")) for n in (1, 2, 4, 8, 16, 32)]
batches = [(n, b) for n, b in batches if b]
if batches:
    write("throughput-batch.svg", chart("Throughput against batch size (GGUF Q4_K_M, 2 threads)", "queries per batch", "queries/s",
                                        [("classify_batch", [(n, b["batch_queries_per_s"]) for n, b in batches])]))
