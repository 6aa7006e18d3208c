#!/usr/bin/env python3
"""The Markdown table of benches/gpu/gptq_cuda.sh from the JSON files it wrote:
gptq_cuda_table.py OUT_DIR "GPU description". Writes OUT_DIR/gptq-cuda.md and prints it.
A file a step did not write shows as "-"."""
import json, os, sys

out, gpu = sys.argv[1], sys.argv[2]


def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None


def mem(name):
    m = load(f"mem-{name}.json")
    return m["peak_gpu_mib"] if m else None


def ms(b, q="p50_ms", mode="cached"):
    return f"{b[mode][q]:.2f} ms" if b else "-"


lines = [f"GPU: {gpu}", "",
         "| model | stack | one query p50 | p95 | prompt recomputed p50 | queries/s (batches of 32) | peak GPU memory (nvidia-smi) |",
         "|---|---|---|---|---|---|---|"]
rows = [("SmolLM2-135M fine-tuned", "smollm2"), ("Llama-3.2-1B shape, random weights", "llama1b")]
for model, key in rows:
    for stack, name in [("fp16-cuda", f"{key}-f16"), ("gptq-cuda", f"{key}-gptq"),
                        ("fp16-cuda, CUDA graphs off", f"{key}-f16-eager"), ("gptq-cuda, CUDA graphs off", f"{key}-gptq-eager")]:
        b = load(f"bench-{name}.json")
        if not b:
            continue
        tp = load(f"bench-{name}-throughput.json")
        qps = f"{tp['batch_queries_per_s']:,.0f}" if tp else "-"
        lines.append(f"| {model} | libintent {stack} | {ms(b)} | {ms(b, 'p95_ms')} | {ms(b, mode='uncached')} | {qps} | {mem(name) or '-'} MiB |")
torch = load("torch-smollm2.json")
if torch:
    lines.append(f"| SmolLM2-135M fine-tuned | {torch['stack']} | {torch['single_p50_ms']:.2f} ms | {torch['single_p95_ms']:.2f} ms | (always) | "
                 f"{torch['batch_queries_per_s']:,.0f} | {mem('torch-smollm2')} MiB (allocator peak {torch['peak_gpu_mib']:.0f} MiB) |")


gen = load("torch-smollm2-generate.json")
if gen:
    lines.append(f"| SmolLM2-135M fine-tuned | {gen['stack']} ({gen['invalid']} of {gen['answers']} answers not a label) | {gen['single_p50_ms']:.2f} ms |"
                 f" {gen['single_p95_ms']:.2f} ms | (always) | {gen['batch_queries_per_s']:,.0f} (batches of {gen['batch']}) |"
                 f" {mem('torch-smollm2-generate')} MiB (allocator peak {gen['peak_gpu_mib']:.0f} MiB) |")


def ratio(a, b, q="p50_ms"):
    a, b = load(f"bench-{a}.json"), load(f"bench-{b}.json")
    return f"{a['cached'][q] / b['cached'][q]:.2f}x" if a and b else "-"


def mem_ratio(a, b):
    return f"{mem(a) / mem(b):.0%}" if mem(a) and mem(b) else "-"


lines += ["",
          f"- fp16-cuda / gptq-cuda, one query p50: SmolLM2 {ratio('smollm2-f16', 'smollm2-gptq')}, 1B shape {ratio('llama1b-f16', 'llama1b-gptq')}"
          f" (graphs off: 1B shape {ratio('llama1b-f16-eager', 'llama1b-gptq-eager')}).",
          f"- Peak GPU memory gptq / fp16 (whole process, CUDA context included): SmolLM2 {mem_ratio('smollm2-gptq', 'smollm2-f16')},"
          f" 1B shape {mem_ratio('llama1b-gptq', 'llama1b-f16')}.",
          f"- CUDA graphs, one query p50, eager / graphs: SmolLM2 fp16 {ratio('smollm2-f16-eager', 'smollm2-f16')},"
          f" 1B fp16 {ratio('llama1b-f16-eager', 'llama1b-f16')}, 1B gptq {ratio('llama1b-gptq-eager', 'llama1b-gptq')}."]
b = load("bench-smollm2-f16.json")
if torch and b:
    lines.append(f"- PyTorch / libintent fp16-cuda, one query p50: {torch['single_p50_ms'] / b['cached']['p50_ms']:.1f}x"
                 f" (PyTorch runs the whole {torch['mean_prompt_tokens']:.0f}-token prompt; libintent caches its {b['prefix_tokens']}-token prefix).")

df, dq = load("decode-llama1b-f16.json"), load("decode-llama1b-gptq.json")
if df and dq:
    lines += ["", "| single-sequence decode, Llama-3.2-1B shape | eager | CUDA graphs on |", "|---|---|---|"]
    for name, d in [("fp16-cuda", df), ("gptq-cuda", dq)]:
        lines.append(f"| {name} ({d['steps']} steps) | {d['eager_tokens_per_s']:,.0f} tokens/s | {d['graphs_tokens_per_s']:,.0f} tokens/s |")
    lines.append(f"- gptq / fp16 decode tokens/s: eager {dq['eager_tokens_per_s'] / df['eager_tokens_per_s']:.2f}x,"
                 f" graphs on {dq['graphs_tokens_per_s'] / df['graphs_tokens_per_s']:.2f}x (each decode step is a new batch shape, so graphs do not replay).")

q, f = load("gpu_check-gptq.json"), load("gpu_check-f16.json")
lines += ["", "| correctness (SmolLM2 fine-tuned, test split) | queries | label agreement | rel. logit error median | max |", "|---|---|---|---|---|"]
for backend, c in [("gptq-cuda", q), ("fp16-cuda", f)]:
    for comp in (c or {}).get("comparisons", []):
        if comp["queries"] > 1:
            lines.append(f"| {backend}: {comp['name']} | {comp['queries']} | {comp['label_agreement']:.2%} | "
                         f"{comp['relative_logit_error_median']:.2e} | {comp['relative_logit_error_max']:.2e} |")
if q and f:
    same = sum(a == b for a, b in zip(q["gpu_f16_labels"], f["gpu_f16_labels"]))
    lines.append(f"| gptq-cuda labels vs fp16-cuda labels (GPU F16) | {q['queries']} | {same / q['queries']:.2%} | - | - |")
    lines += ["", f"Accuracy on the test split (answer tokens): fp16-cuda {f['gpu_f16_accuracy']:.2%}, gptq-cuda {q['gpu_f16_accuracy']:.2%}."]
    for backend, c in [("fp16-cuda", f), ("gptq-cuda", q)]:
        if "one_query_ms" in c:
            o, g = c["one_query_ms"], c["graphs"]
            lines.append(f"- {backend}, one query at a time in the check ({o['queries']} queries, median): eager {o['eager']:.2f} ms,"
                         f" CUDA graphs {o['cuda_graphs']:.2f} ms; {g['captures']} graphs captured, {g['replays']} replays, {g['eager']} eager batches.")

k = load("int4-check.json")
if k:
    lines += ["", f"int4 kernel checks: {len(k['checks'])} shapes, {k['failed']} failed, largest relative error "
              f"{max(c['relative_error'] for c in k['checks']):.2e}, split-K workspace left clean: {k.get('workspace_clean')};"
              f" copy bandwidth {k['copy_gbs']:.0f} GB/s", "",
              "| m x k x n | int4 fused | decoded + cuBLAS | f16 cuBLAS | f16 / int4 | int4 GB/s | of copy |", "|---|---|---|---|---|---|---|"]
    for s in k["speed"]:
        dq = f"{s['dequant_cublas_us']:.1f} us" if "dequant_cublas_us" in s else "-"
        lines.append(f"| {s['m']} x {s['k']} x {s['n']} | {s['int4_us']:.1f} us | {dq} | {s['f16_us']:.1f} us | {s['f16_over_int4']:.2f} | {s['int4_gbs']:.0f} | {s['fraction_of_copy']:.0%} |")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "gptq-cuda.md"), "w").write(text)
print(text)
