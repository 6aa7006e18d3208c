#!/usr/bin/env python3
"""The Markdown table of benches/gpu/fp16_cuda.sh from the JSON files it wrote:
fp16_cuda_table.py OUT_DIR "GPU description"."""
import json, sys, os
out, gpu = sys.argv[1], sys.argv[2]
j = lambda n: json.load(open(os.path.join(out, n)))
lat, thr, big, torch = j("bench-smollm2-latency.json"), j("bench-smollm2-throughput.json"), j("bench-llama1b-latency.json"), j("torch-smollm2.json")
mem = {n: j(f"mem-{n}.json")["peak_gpu_mib"] if os.path.exists(os.path.join(out, f"mem-{n}.json")) else 0
       for n in ["smollm2-latency", "smollm2-throughput", "llama1b-latency", "torch-smollm2"]}
lines = [
    f"GPU: {gpu}", "",
    "| model | stack | one query p50 | p95 | queries/s (batches) | peak GPU memory (nvidia-smi) |",
    "|---|---|---|---|---|---|",
    f"| SmolLM2-135M fine-tuned | libintent fp16-cuda | {lat['cached']['p50_ms']:.2f} ms | {lat['cached']['p95_ms']:.2f} ms | {thr['batch_queries_per_s']:.0f} (32) | {max(mem['smollm2-latency'], mem['smollm2-throughput'])} MiB |",
    f"| SmolLM2-135M fine-tuned | PyTorch {torch['stack']} | {torch['single_p50_ms']:.2f} ms | {torch['single_p95_ms']:.2f} ms | {torch['batch_queries_per_s']:.0f} ({torch['batch']}) | {mem['torch-smollm2']} MiB (torch allocator peak {torch['peak_gpu_mib']:.0f} MiB) |",
    f"| Llama-3.2-1B shape, random weights | libintent fp16-cuda | {big['cached']['p50_ms']:.2f} ms | {big['cached']['p95_ms']:.2f} ms | — (not measured) | {mem['llama1b-latency']} MiB |",
    "",
    f"- One query: libintent is {torch['single_p50_ms'] / lat['cached']['p50_ms']:.1f}x faster than PyTorch + transformers FP16 (p50, same prompts; PyTorch recomputes the prompt of {torch['mean_prompt_tokens']:.0f} tokens, libintent caches its {lat['prefix_tokens']}-token prefix).",
    f"- Median query length: SmolLM2 {lat['median_query_tokens']} tokens, 1B shape {big['median_query_tokens']} tokens (prefix {big['prefix_tokens']} tokens, zero-shot prompt).",
    f"- libintent without the prefix cache, one query: SmolLM2 {lat['uncached']['p50_ms']:.2f} ms, 1B shape {big['uncached']['p50_ms']:.2f} ms.",
]
open(os.path.join(out, "fp16-cuda.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
