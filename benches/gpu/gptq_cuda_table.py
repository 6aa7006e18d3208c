#!/usr/bin/env python3
"""The Markdown table of benches/gpu/gptq_cuda.sh from the JSON files it wrote:
gptq_cuda_table.py OUT_DIR "GPU description". Writes OUT_DIR/gptq-cuda.md and prints it."""
import json, os, sys

out, gpu = sys.argv[1], sys.argv[2]
load = lambda name: json.load(open(os.path.join(out, name)))
bench = lambda n: load(f"bench-{n}.json")
mem = lambda n: load(f"mem-{n}.json")["peak_gpu_mib"]

lines = [f"GPU: {gpu}", "", "| model | backend | one query p50 | p95 | queries/s (batches of 32) | peak GPU memory |", "|---|---|---|---|---|---|"]
for model, key in [("SmolLM2-135M fine-tuned", "smollm2"), ("Llama-3.2-1B shape, random weights", "llama1b")]:
    for backend, fmt in [("fp16-cuda", "f16"), ("gptq-cuda", "gptq")]:
        b = bench(f"{key}-{fmt}")
        tp = f"bench-{key}-{fmt}-throughput.json"
        qps = f"{load(tp)['batch_queries_per_s']:,.0f}" if os.path.exists(os.path.join(out, tp)) else "-"
        lines.append(f"| {model} | {backend} | {b['cached']['p50_ms']:.2f} ms | {b['cached']['p95_ms']:.2f} ms | {qps} | {mem(f'{key}-{fmt}')} MiB |")
ratio = lambda key, q: bench(f"{key}-f16")["cached"][q] / bench(f"{key}-gptq")["cached"][q]
lines += ["", f"fp16-cuda / gptq-cuda latency (p50): SmolLM2 {ratio('smollm2', 'p50_ms'):.2f}x, 1B shape {ratio('llama1b', 'p50_ms'):.2f}x;"
          f" peak memory gptq / fp16: SmolLM2 {mem('smollm2-gptq') / mem('smollm2-f16'):.0%}, 1B {mem('llama1b-gptq') / mem('llama1b-f16'):.0%}"]

q, f = load("gpu_check-gptq.json"), load("gpu_check-f16.json")
same = sum(a == b for a, b in zip(q["gpu_f16_labels"], f["gpu_f16_labels"]))
lines += ["", "| correctness (SmolLM2 fine-tuned, test split) | queries | label agreement | rel. logit error median | max |", "|---|---|---|---|---|"]
for c in q["comparisons"]:
    lines.append(f"| gptq-cuda: {c['name']} | {c['queries']} | {c['label_agreement']:.2%} | {c['relative_logit_error_median']:.2e} | {c['relative_logit_error_max']:.2e} |")
lines.append(f"| gptq-cuda labels vs fp16-cuda labels (GPU) | {q['queries']} | {same / q['queries']:.2%} | - | - |")
lines += ["", f"Accuracy on the test split: fp16-cuda {f['gpu_f16_accuracy']:.2%}, gptq-cuda {q['gpu_f16_accuracy']:.2%}"]

k = load("int4-check.json")
lines += ["", f"int4 kernel checks: {len(k['checks'])} shapes, {k['failed']} failed, largest relative error "
          f"{max(c['relative_error'] for c in k['checks']):.2e}; copy bandwidth {k['copy_gbs']:.0f} GB/s", "",
          "| m x k x n | int4 | f16 cuBLAS | f16 / int4 | int4 GB/s | of copy |", "|---|---|---|---|---|---|"]
for s in k["speed"]:
    lines.append(f"| {s['m']} x {s['k']} x {s['n']} | {s['int4_us']:.1f} us | {s['f16_us']:.1f} us | {s['f16_over_int4']:.2f} | {s['int4_gbs']:.0f} | {s['fraction_of_copy']:.0%} |")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "gptq-cuda.md"), "w").write(text)
print(text)
