#!/usr/bin/env python3
"""The CPU trade-off table of benches/cpu/tradeoff.sh: tradeoff_table.py OUT_DIR ROOT.
Writes OUT_DIR/tradeoff.md and prints it."""
import json, os, sys

out, root = sys.argv[1], sys.argv[2]
accuracy = {r["format"]: r for r in json.load(open(os.path.join(root, "reports/accuracy/accuracy.json")))}
fp16 = accuracy["fine-tuned FP16 (PyTorch, CUDA)"]["accuracy"]
lines = ["| format | size on disk | accuracy (test split) | vs FP16 | threads | one query p50 / p95 | prompt recomputed p50 | batches of 8 | peak RSS | load | straightforward p50 | straightforward / engine | its answers not a label |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for fmt in ["F16", "Q8_0", "Q5_K_M", "Q4_K_M"]:
    size = os.path.getsize(os.path.join(root, f"models/SmolLM2-135M-intent.{fmt}.gguf")) / 1e6
    acc = accuracy.get(f"fine-tuned GGUF {fmt} (gguf-cpu)")
    for t in (2, 1):
        path = os.path.join(out, f"bench-{fmt}-t{t}.json")
        if not os.path.exists(path):
            continue
        b = json.load(open(path))
        n = b.get("naive") or {}
        a = f"{acc['accuracy']:.2%}" if acc else "-"
        d = f"{(acc['accuracy'] - fp16) * 100:+.2f} pt" if acc else "-"
        lines.append(
            f"| {fmt} | {size:.0f} MB | {a} | {d} | {t} | {b['cached']['p50_ms']:.1f} / {b['cached']['p95_ms']:.1f} ms | {b['uncached']['p50_ms']:.1f} ms |"
            f" {b['batch_queries_per_s']:.1f} q/s | {b['peak_rss_mib']:.0f} MiB | {b['load_ms']:.0f} ms |"
            f" {n.get('latency', {}).get('p50_ms', float('nan')):.1f} ms | {n.get('over_cached', float('nan')):.1f}x | {n.get('invalid', '-')} of {n.get('answers', '-')} |")
lines += ["", f"Accuracy: `reports/accuracy/` (fine-tuned FP16 in PyTorch: {fp16:.2%}); the engine's answers are always a label (0 invalid)."]
text = "\n".join(lines) + "\n"
open(os.path.join(out, "tradeoff.md"), "w").write(text)
print(text)
