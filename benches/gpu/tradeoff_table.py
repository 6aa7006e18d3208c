#!/usr/bin/env python3
"""The GPU trade-off table of benches/gpu/gptq_cuda.sh, in the shape of the CPU one:
tradeoff_table.py OUT_DIR ROOT "GPU description". Writes OUT_DIR/tradeoff.md and prints it.

Every latency and throughput figure here is measured on the same 32 test-split queries
(batch.txt of the sweeps): the engine's one-query latency and its throughput at each batch
size come from the batch-size sweep, the study's stack (PyTorch + transformers FP16,
generating the answer freely) runs on the engine's exact prompts for those queries."""
import json, os, sys

out, root, gpu = sys.argv[1], sys.argv[2], sys.argv[3]
BATCHES = (1, 2, 4, 8, 16, 32)


def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None


def sizes():
    """model.safetensors bytes by its folder's name, from model-bytes.txt (du -sb)."""
    path = os.path.join(out, "model-bytes.txt")
    if not os.path.exists(path):
        return {}
    rows = (line.split("\t") for line in open(path) if "\t" in line)
    return {os.path.basename(os.path.dirname(p.strip())): int(n) for n, p in rows}


def best_batch(name):
    """(batch size, its bench report) with the most queries/s in the batch-size sweep."""
    runs = [(n, load(f"sweep-{name}-batch-{n}.json")) for n in BATCHES]
    runs = [(n, b) for n, b in runs if b]
    return max(runs, key=lambda r: r[1]["batch_queries_per_s"]) if runs else (None, None)


def mem(name):
    m = load(f"mem-{name}.json")
    return m["peak_gpu_mib"] if m else None


accuracy = {r["format"]: r["accuracy"] for r in json.load(open(os.path.join(root, "reports/accuracy/accuracy.json")))}
torch_accuracy = accuracy.get("fine-tuned FP16 (PyTorch, CUDA)")
check = {k: load(f"gpu_check-{k}.json") for k in ("f16", "gptq")}
fp16_accuracy = check["f16"]["gpu_f16_accuracy"] if check["f16"] else None
bytes_of = sizes()
folders = {"smollm2-f16": "SmolLM2-135M-intent-hf", "smollm2-gptq": "SmolLM2-135M-intent-gptq",
           "llama1b-f16": "llama-1b-f16", "llama1b-gptq": "llama-1b-gptq"}

lines = [f"GPU: {gpu}. All rows: the same 32 test-split queries, one process per row.", "",
         "| model | stack | size on disk | accuracy (test split) | vs FP16 | one query p50 / p95 | best throughput (batch) | query tokens/s there | peak GPU memory | load | answers not a label |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
engine = {}
for model, key in [("SmolLM2-135M fine-tuned", "smollm2"), ("Llama-3.2-1B shape, random weights", "llama1b")]:
    for stack, fmt in [("libintent fp16-cuda", "f16"), ("libintent gptq-cuda", "gptq")]:
        name = f"{key}-{fmt}"
        n, b = best_batch(name)
        if not b:
            continue
        engine[name] = (n, b)
        size = bytes_of.get(folders[name])
        acc = check[fmt]["gpu_f16_accuracy"] if key == "smollm2" and check[fmt] else None
        vs = f"{(acc - fp16_accuracy) * 100:+.2f} pt" if acc is not None and fp16_accuracy is not None else "-"
        lines.append(f"| {model} | {stack} | {size / 1e6:.0f} MB |" if size else f"| {model} | {stack} | - |")
        lines[-1] += (f" {acc:.2%} |" if acc is not None else " (random weights) |") + f" {vs} |"
        lines[-1] += (f" {b['cached']['p50_ms']:.2f} / {b['cached']['p95_ms']:.2f} ms | {b['batch_queries_per_s']:,.0f} q/s ({n}) |"
                      f" {b['batch_tokens_per_s']:,.0f} | {mem(f'sweep-{name}-batch-{n}') or '-'} MiB | {b['load_ms']:.0f} ms | 0 (label-constrained) |")
    peer = load(f"torch-{key}-generate.json")
    if peer:
        acc = f"{torch_accuracy:.2%} (scored)" if key == "smollm2" and torch_accuracy else "(random weights)"
        lines.append(f"| {model} | PyTorch FP16, free generation (study's stack) | - | {acc} | - | {peer['single_p50_ms']:.2f} / {peer['single_p95_ms']:.2f} ms |"
                     f" {peer['batch_queries_per_s']:,.0f} q/s ({peer['batch']}) | - | {mem(f'torch-{key}-generate') or '-'} MiB | {peer['load_ms']:.0f} ms |"
                     f" {peer['invalid']} of {peer['answers']} |")

notes = []
f, q = engine.get("llama1b-f16"), engine.get("llama1b-gptq")
if f and q:
    notes.append(f"- GPU target, 1B shape, one query: gptq-cuda {q[1]['cached']['p50_ms']:.2f} ms against fp16-cuda {f[1]['cached']['p50_ms']:.2f} ms,"
                 f" {f[1]['cached']['p50_ms'] / q[1]['cached']['p50_ms']:.2f}x as fast (target 2x).")
    mf, mq = mem(f"sweep-llama1b-f16-batch-{f[0]}"), mem(f"sweep-llama1b-gptq-batch-{q[0]}")
    if mf and mq:
        notes.append(f"- GPU target, 1B shape, memory: gptq-cuda {mq:.0f} MiB against fp16-cuda {mf:.0f} MiB, {mq / mf:.0%} (target at most 40%;"
                     " whole process, CUDA context included).")
for key in ("smollm2", "llama1b"):
    peer, mine = load(f"torch-{key}-generate.json"), engine.get(f"{key}-f16")
    if peer and mine:
        b = mine[1]
        notes.append(f"- {key}: libintent fp16-cuda against PyTorch FP16 free generation: {peer['single_p50_ms'] / b['cached']['p50_ms']:.1f}x faster for one query,"
                     f" {b['batch_queries_per_s'] / peer['batch_queries_per_s']:.1f}x the throughput (best batch of each),"
                     f" {peer['invalid']} of {peer['answers']} PyTorch answers not a label, none of the engine's.")
    peer_mem, mine_mem = mem(f"torch-{key}-generate"), mine and mem(f"sweep-{key}-f16-batch-{mine[0]}")
    if peer_mem and mine_mem:
        notes[-1] += f" Peak GPU memory {mine_mem / peer_mem:.0%} of PyTorch's."
if fp16_accuracy is not None and check["gptq"]:
    notes.append(f"- Accuracy, SmolLM2: gptq-cuda {(check['gptq']['gpu_f16_accuracy'] - fp16_accuracy) * 100:+.2f} points against fp16-cuda"
                 " (target within 0.5); both score the whole test split on the GPU.")
lines += [""] + notes
lines += ["", "The batch-size and query-length sweeps are in the `sweep-*.json` files and the pictures; `gptq-cuda.md` has the"
          " checks, CUDA graphs on and off, decode tokens/s and PyTorch scoring the answer tokens in one pass."]
text = "\n".join(lines) + "\n"
open(os.path.join(out, "tradeoff.md"), "w").write(text)
print(text)
