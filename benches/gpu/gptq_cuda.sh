#!/usr/bin/env bash
# gptq-cuda against fp16-cuda (and the study's stack, PyTorch + transformers FP16) on a GPU
# host, in one go: builds the model files (the fine-tuned SmolLM2-135M as F16 and as the
# project's GPTQ export, from the base GGUF and the committed adapter; a random-weight
# Llama-3.2-1B-shaped model as F16 and as a GPTQModel-layout checkpoint), runs the int4
# kernel checks (correctness over many shapes, speed against cuBLAS F16 and the copy
# bandwidth), checks both backends against F32 references and CUDA graphs against eager
# runs, checks gptq-cuda's labels against fp16-cuda's, times both backends with
# `intent bench` (CUDA graphs on, and off for comparison; query-length and batch-size
# sweeps) and the study's stack (PyTorch + transformers FP16, scoring the answer tokens, and
# generating the answer freely on the engine's exact prompts) in the same run, samples GPU
# memory, and writes the Markdown tables (gptq-cuda.md, tradeoff.md) and the trade-off
# pictures (SVG).
#
#   benches/gpu/gptq_cuda.sh BASE.gguf BIN_DIR OUT_DIR
#
# BIN_DIR holds `intent`, the gguf-cpu, fp16-cuda and gptq-cuda plugins (CUDA builds) and
# the examples `gpu_check` and `int4_check`. The GPU host needs no Rust.
#
# Resumable: with WORK set, the model files and finished steps are kept there and a second
# run goes on where the first stopped (the device's commands run at most 10 minutes).
set -euo pipefail
base="$1"; bin="$2"; out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/benches/gpu/common.sh"
state="${WORK:-$work}"; mkdir -p "$state"

# step NAME COMMAND...: runs the command unless an earlier run finished it.
step() {
  local name="$1"; shift
  if [ -e "$state/done-$name" ]; then echo "== $name: done before"; return; fi
  local t0=$SECONDS
  "$@"
  echo "== $name: $(( SECONDS - t0 )) s"
  touch "$state/done-$name"
}

m="$state/m"; smol16="$m/SmolLM2-135M-intent-hf"; smolq="$m/SmolLM2-135M-intent-gptq"
models_smollm2() {
  "$intent" model prepare --base "$base" --adapter "$root/models/smollm2-135m-ecommerce-v1-lora" --out "$m" \
    --name SmolLM2-135M-intent --formats F16,GPTQ --calibration "$root/data/train.jsonl" --plugin-path "$bin" > "$state/prepare.log"
}
models_1b() {
  "$intent" model synth --shape llama-3.2-1b --seed 1 --tokenizer-from "$base" --out "$m/llama-1b-f16"
  "$intent" model synth --shape llama-3.2-1b --seed 1 --format gptq --group-size 128 --tokenizer-from "$base" --out "$m/llama-1b-gptq"
  du -sh "$m"/* > "$out/model-sizes.txt"
}
decode() { # name model: single-sequence decode, 256 steps
  "$bin/gpu_check" --decode 256 --model "$2" --out "$state/decode-$1" | tee "$out/decode-$1.txt"
  cp "$state/decode-$1/decode.json" "$out/decode-$1.json"
}
int4() { "$bin/int4_check" --out "$out" | tee "$out/int4_check.txt"; }
# Correctness: each backend against F32 references of the same model code (GPU, whole
# split; CPU, every CPU_STRIDE-th query), and graphs against eager runs.
check() { # name backend model cpu-stride
  "$bin/gpu_check" --backend "$2" --model "$3" --plugin-dir "$bin" --test "$root/data/test.jsonl" \
    --out "$state/check-$1" --cpu-stride "$4" | tee "$out/gpu_check-$1.md"
  cp "$state/check-$1/gpu_check.json" "$out/gpu_check-$1.json"
}
torch_smollm2() {
  peak_gpu python3 "$root/benches/gpu/torch_baseline.py" --model "$smol16" --prompts "$state/check-f16/prompts.jsonl" \
    --candidates "$state/check-f16/candidates.json" --json "$out/torch-smollm2.json" > "$state/torch.log" 2>&1 || { cat "$state/torch.log"; exit 1; }
  echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-torch-smollm2.json"
}
prompts() { # the sweeps' queries, and the engine's exact prompts for the 32 of batch.txt
  python3 "$root/benches/cpu/sweep_queries.py" "$root/data/test.jsonl" "$state"
  "$intent" bench --backend fp16-cuda --device 0 --plugin-path "$bin" --model "$smol16" --queries "$state/batch.txt" \
    --repeat 1 --warmup 0 --dump-prompts "$state/prompts.json" > /dev/null
}
torch_generate() { # name model: the study's way of classifying, free generation, on the engine's own prompts
  peak_gpu python3 "$root/benches/cpu/torch_peer.py" --device cuda --model "$2" --prompts "$state/prompts.json" --repeat 5 --batch 32 \
    --json "$out/torch-$1-generate.json" > "$state/torch-$1-generate.log" 2>&1 || { cat "$state/torch-$1-generate.log"; exit 1; }
  echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-torch-$1-generate.json"
}
sweeps() { # name backend model lengths...: cost against query length, then throughput against batch size
  local name="$1" backend="$2" model="$3"; shift 3
  for len in "$@"; do
    "$intent" bench --backend "$backend" --device 0 --plugin-path "$bin" --model "$model" --queries "$state/len-$len.txt" \
      --repeat 10 --warmup 2 --json "$out/sweep-$name-len-$len.json" > /dev/null
  done
  for batch in ${BATCHES:-1 2 4 8 16 32}; do
    peak_gpu "$intent" bench --backend "$backend" --device 0 --plugin-path "$bin" --model "$model" --queries "$state/batch.txt" \
      --repeat 10 --warmup 2 --max-batch "$batch" --json "$out/sweep-$name-batch-$batch.json" > /dev/null
    echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-sweep-$name-batch-$batch.json"
  done
}
bench() { # name backend model warmup repeat extra-args...
  local name="$1" backend="$2" model="$3" warmup="$4" repeat="$5"; shift 5
  peak_gpu "$intent" bench --backend "$backend" --device 0 --plugin-path "$bin" --model "$model" \
    --warmup "$warmup" --repeat "$repeat" --max-batch 32 --json "$out/bench-$name.json" "$@" > "$state/bench-$name.log"
  echo "{\"peak_gpu_mib\": $(cat "$work/peak")}" > "$out/mem-$name.json"
  cat "$state/bench-$name.log"
}
batch32() { BATCHES=32 sweeps "$@"; } # the 1B shape: the 32 queries in one batch only
eager() { ( export INTENT_CUDA_GRAPHS=0; "$@" ); }

queries() {
  python3 -c "
import json
rows=[json.loads(l)['text'] for l in open('$root/data/test.jsonl')]
open('$state/queries-256.txt','w').write('\n'.join(r.replace('\n',' ') for r in rows[::32][:256])+'\n')"
}

step int4 int4
step models-smollm2 models_smollm2
step models-1b models_1b
step check-gptq check gptq gptq-cuda "$smolq" "${CPU_STRIDE:-16}"
step check-f16 check f16 fp16-cuda "$smol16" 100000
step torch-smollm2 torch_smollm2
step queries queries
step prompts prompts
step torch-smollm2-generate torch_generate smollm2 "$smol16"
step bench-smollm2-f16 bench smollm2-f16 fp16-cuda "$smol16" 5 30
step bench-smollm2-gptq bench smollm2-gptq gptq-cuda "$smolq" 5 30
step bench-llama1b-f16 bench llama1b-f16 fp16-cuda "$m/llama-1b-f16" 5 30
step bench-llama1b-gptq bench llama1b-gptq gptq-cuda "$m/llama-1b-gptq" 5 30
step bench-smollm2-f16-eager eager bench smollm2-f16-eager fp16-cuda "$smol16" 5 30
step bench-llama1b-f16-eager eager bench llama1b-f16-eager fp16-cuda "$m/llama-1b-f16" 5 30
step bench-llama1b-gptq-eager eager bench llama1b-gptq-eager gptq-cuda "$m/llama-1b-gptq" 5 30
step decode-llama1b-f16 decode llama1b-f16 "$m/llama-1b-f16"
step decode-llama1b-gptq decode llama1b-gptq "$m/llama-1b-gptq"
step bench-smollm2-f16-throughput bench smollm2-f16-throughput fp16-cuda "$smol16" 1 2 --queries "$state/queries-256.txt"
step bench-smollm2-gptq-throughput bench smollm2-gptq-throughput gptq-cuda "$smolq" 1 2 --queries "$state/queries-256.txt"
step sweeps-smollm2-f16 sweeps smollm2-f16 fp16-cuda "$smol16" 3 10 20 40
step sweeps-smollm2-gptq sweeps smollm2-gptq gptq-cuda "$smolq" 3 10 20 40
step sweeps-llama1b-f16 batch32 llama1b-f16 fp16-cuda "$m/llama-1b-f16"
step sweeps-llama1b-gptq batch32 llama1b-gptq gptq-cuda "$m/llama-1b-gptq"
step torch-llama1b-generate torch_generate llama1b "$m/llama-1b-f16"

du -sb "$smol16/model.safetensors" "$smolq/model.safetensors" "$m/llama-1b-f16/model.safetensors" "$m/llama-1b-gptq/model.safetensors" \
  > "$out/model-bytes.txt" 2>/dev/null || true
python3 "$root/benches/gpu/gptq_cuda_table.py" "$out" "$gpu"
python3 "$root/benches/gpu/tradeoff_table.py" "$out" "$root" "$gpu"
python3 "$root/benches/gpu/plots.py" "$out" "$root"
