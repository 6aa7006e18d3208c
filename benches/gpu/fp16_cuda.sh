#!/usr/bin/env bash
# fp16-cuda on a GPU host, in one go: builds the model files it needs (the fine-tuned
# SmolLM2-135M in Hugging Face layout from the base GGUF and the committed adapter; a
# random-weight Llama-3.2-1B-shaped model), checks correctness against F32 references,
# times the engine (`intent bench`) and the study's stack (PyTorch + transformers FP16) on
# the same model and prompts, samples GPU memory, and prints a Markdown table.
#
#   benches/gpu/fp16_cuda.sh BASE.gguf BIN_DIR OUT_DIR
#
# BIN_DIR holds `intent`, the gguf-cpu and fp16-cuda (built with --features cuda) plugins
# and `gpu_check` (the fp16-cuda example). The GPU host needs no Rust.
set -euo pipefail
base="$1"; bin="$2"; out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/benches/gpu/common.sh"

t0=$(date +%s)
"$intent" model prepare --base "$base" --adapter "$root/models/smollm2-135m-ecommerce-v1-lora" --out "$work/m" \
  --name SmolLM2-135M-intent --formats F16 --plugin-path "$bin" > "$work/prepare.log"
"$intent" model synth --shape llama-3.2-1b --seed 1 --tokenizer-from "$base" --out "$work/m/llama-3.2-1b-synth"
echo "models built in $(( $(date +%s) - t0 )) s"
smol="$work/m/SmolLM2-135M-intent-hf"
big="$work/m/llama-3.2-1b-synth"

# Correctness: GPU F16 against F32 on the GPU (whole test split) and on the CPU (every
# CPU_STRIDE-th query, default 8).
"$bin/gpu_check" --model "$smol" --plugin-dir "$bin" --test "$root/data/test.jsonl" --out "$work/check" \
  --cpu-stride "${CPU_STRIDE:-8}" | tee "$out/gpu_check.md"
cp "$work/check/gpu_check.json" "$out/"

# Queries for throughput: 256 of the test split.
python3 -c "
import json,sys
rows=[json.loads(l)['text'] for l in open('$root/data/test.jsonl')]
open('$work/queries-256.txt','w').write('\n'.join(r.replace('\n',' ') for r in rows[::32][:256])+'\n')"

bench() { # name model warmup repeat extra-args...
  local name="$1" model="$2" warmup="$3" repeat="$4"; shift 4
  peak_gpu "$intent" bench --backend fp16-cuda --device 0 --plugin-path "$bin" --model "$model" \
    --warmup "$warmup" --repeat "$repeat" --max-batch 32 --json "$out/bench-$name.json" "$@" > "$work/bench-$name.log"
  echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-$name.json"
  cat "$work/bench-$name.log"
}
peak_gpu python3 "$root/benches/gpu/torch_baseline.py" --model "$smol" --prompts "$work/check/prompts.jsonl" \
  --candidates "$work/check/candidates.json" --json "$out/torch-smollm2.json" > "$work/torch.log" 2>&1 || { cat "$work/torch.log"; exit 1; }
echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-torch-smollm2.json"
bench smollm2-latency "$smol" 5 30
bench llama1b-latency "$big" 5 30
bench smollm2-throughput "$smol" 1 2 --queries "$work/queries-256.txt"

python3 "$root/benches/gpu/fp16_cuda_table.py" "$out" "$gpu"
