#!/usr/bin/env python3
"""The CPU trade-off table of benches/cpu/tradeoff.sh: tradeoff_table.py OUT_DIR ROOT.
Writes OUT_DIR/tradeoff.md and prints it."""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_formats import FORMATS, size_mb  # noqa: E402

out, root = sys.argv[1], sys.argv[2]
accuracy = {r["format"]: r for r in json.load(open(os.path.join(root, "reports/accuracy/accuracy.json")))}
fp16 = accuracy["fine-tuned FP16 (PyTorch, CUDA)"]["accuracy"]
lines = ["| format | size on disk | accuracy (test split) | vs FP16 | threads | one query p50 / p95 | prompt recomputed p50 | batches of 8 | query tokens/s there | peak RSS | load | straightforward p50 | straightforward / engine | its answers not a label |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for fmt, label, row, files in FORMATS:
    size = size_mb(root, files)
    acc = accuracy.get(row)
    for t in (2, 1):
        path = os.path.join(out, f"bench-{fmt}-t{t}.json")
        if not os.path.exists(path):
            continue
        b = json.load(open(path))
        n = b.get("naive") or {}
        a = f"{acc['accuracy']:.2%}" if acc else "-"
        d = f"{(acc['accuracy'] - fp16) * 100:+.2f} pt" if acc else "-"
        lines.append(
            f"| {label} | {size:.0f} MB | {a} | {d} | {t} | {b['cached']['p50_ms']:.1f} / {b['cached']['p95_ms']:.1f} ms | {b['uncached']['p50_ms']:.1f} ms |"
            f" {b['batch_queries_per_s']:.1f} q/s | {b.get('batch_tokens_per_s', float('nan')):.0f} | {b['peak_rss_mib']:.0f} MiB | {b['load_ms']:.0f} ms |"
            f" {n.get('latency', {}).get('p50_ms', float('nan')):.1f} ms | {n.get('over_cached', float('nan')):.1f}x | {n.get('invalid', '-')} of {n.get('answers', '-')} |")
peers = []
for t in (2, 1):
    path = os.path.join(out, f"torch-fp16-t{t}.json")
    if os.path.exists(path):
        p = json.load(open(path))
        size = os.path.getsize(os.path.join(root, "models/SmolLM2-135M-intent-hf/model.safetensors")) / 1e6
        lines.append(f"| PyTorch FP16 (study's stack) | {size:.0f} MB | {fp16:.2%} (CUDA) | - | {t} | {p['single_p50_ms']:.1f} / {p['single_p95_ms']:.1f} ms | (always) |"
                     f" {p['batch_queries_per_s']:.1f} q/s | - | {p['peak_rss_mib']:.0f} MiB | {p['load_ms']:.0f} ms | (free generation) | - | {p['invalid']} of {p['answers']} |")
        q4 = os.path.join(out, f"bench-Q4_K_M-t{t}.json")
        if os.path.exists(q4):
            b = json.load(open(q4))
            peers.append(f"- {t} thread(s), GGUF Q4_K_M in the engine against PyTorch FP16: {b['batch_queries_per_s'] / p['batch_queries_per_s']:.1f}x the throughput"
                         f" (batches of 8; target 18x), {p['single_p50_ms'] / b['cached']['p50_ms']:.1f}x faster for one query,"
                         f" {1 - b['peak_rss_mib'] / p['peak_rss_mib']:.0%} less RAM (peak RSS of each process; target 90%).")
lines += [""] + peers
lines += ["", f"Accuracy: `reports/accuracy/` (fine-tuned FP16 in PyTorch: {fp16:.2%}); the engine's answers are always a label (0 invalid)."]
text = "\n".join(lines) + "\n"
open(os.path.join(out, "tradeoff.md"), "w").write(text)
print(text)
