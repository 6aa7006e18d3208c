#!/usr/bin/env bash
# gptq-cuda against fp16-cuda on a GPU host, in one go: builds the model files (the
# fine-tuned SmolLM2-135M as F16 and as the project's GPTQ export, from the base GGUF and
# the committed adapter; a random-weight Llama-3.2-1B-shaped model as F16 and as a
# GPTQModel-layout checkpoint), runs the int4 kernel checks (correctness over many shapes,
# speed against cuBLAS F16 and the copy bandwidth), checks gptq-cuda against its F32
# references and its labels against fp16-cuda's, times both backends with `intent bench`
# in the same run, samples GPU memory, and prints a Markdown table.
#
#   benches/gpu/gptq_cuda.sh BASE.gguf BIN_DIR OUT_DIR
#
# BIN_DIR holds `intent`, the gguf-cpu, fp16-cuda and gptq-cuda plugins (CUDA builds) and
# the examples `gpu_check` and `int4_check`. The GPU host needs no Rust.
set -euo pipefail
base="$1"; bin="$2"; out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/benches/gpu/common.sh"

"$bin/int4_check" --out "$out" | tee "$out/int4_check.txt"

t0=$(date +%s)
"$intent" model prepare --base "$base" --adapter "$root/models/smollm2-135m-ecommerce-v1-lora" --out "$work/m" \
  --name SmolLM2-135M-intent --formats F16,GPTQ --calibration "$root/data/train.jsonl" --plugin-path "$bin" > "$work/prepare.log"
"$intent" model synth --shape llama-3.2-1b --seed 1 --tokenizer-from "$base" --out "$work/m/llama-1b-f16"
"$intent" model synth --shape llama-3.2-1b --seed 1 --format gptq --group-size 128 --tokenizer-from "$base" --out "$work/m/llama-1b-gptq"
echo "models built in $(( $(date +%s) - t0 )) s"
smol16="$work/m/SmolLM2-135M-intent-hf"; smolq="$work/m/SmolLM2-135M-intent-gptq"

# Correctness: the int4 path against the decoded weights in F32 (GPU, whole split; CPU,
# every CPU_STRIDE-th query), and labels against fp16-cuda's.
"$bin/gpu_check" --backend gptq-cuda --model "$smolq" --plugin-dir "$bin" --test "$root/data/test.jsonl" \
  --out "$work/check-gptq" --cpu-stride "${CPU_STRIDE:-16}" | tee "$out/gpu_check-gptq.md"
"$bin/gpu_check" --backend fp16-cuda --model "$smol16" --plugin-dir "$bin" --test "$root/data/test.jsonl" \
  --out "$work/check-f16" --cpu-stride 100000 > "$work/check-f16.md"
cp "$work/check-gptq/gpu_check.json" "$out/gpu_check-gptq.json"
cp "$work/check-f16/gpu_check.json" "$out/gpu_check-f16.json"

python3 -c "
import json,sys
rows=[json.loads(l)['text'] for l in open('$root/data/test.jsonl')]
open('$work/queries-256.txt','w').write('\n'.join(r.replace('\n',' ') for r in rows[::32][:256])+'\n')"

bench() { # name backend model warmup repeat extra-args...
  local name="$1" backend="$2" model="$3" warmup="$4" repeat="$5"; shift 5
  peak_gpu "$intent" bench --backend "$backend" --device 0 --plugin-path "$bin" --model "$model" \
    --warmup "$warmup" --repeat "$repeat" --max-batch 32 --json "$out/bench-$name.json" "$@" > "$work/bench-$name.log"
  echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-$name.json"
  echo "== $name"; cat "$work/bench-$name.log"
}
bench smollm2-f16 fp16-cuda "$smol16" 5 30
bench smollm2-gptq gptq-cuda "$smolq" 5 30
bench llama1b-f16 fp16-cuda "$work/m/llama-1b-f16" 5 30
bench llama1b-gptq gptq-cuda "$work/m/llama-1b-gptq" 5 30
bench smollm2-f16-throughput fp16-cuda "$smol16" 1 2 --queries "$work/queries-256.txt"
bench smollm2-gptq-throughput gptq-cuda "$smolq" 1 2 --queries "$work/queries-256.txt"

python3 "$root/benches/gpu/gptq_cuda_table.py" "$out" "$gpu"
