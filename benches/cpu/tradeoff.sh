#!/usr/bin/env bash
# The CPU half of the trade-off table: every GGUF format of the fine-tuned default model
# and its adapter applied at run time to the unchanged Q4_1 base (LORA)
# timed with `intent bench` (engine with the prefix cached, prompt recomputed, batches,
# peak RSS, load time) and the straightforward way (`--naive`: whole prompt, free greedy
# answer), with 2 threads and with 1, one process per format and thread count, then joined
# with the accuracy table (reports/accuracy/accuracy.json) and the files' sizes; and the
# study's stack, PyTorch + transformers FP16 with free generation, on exactly the same
# prompts (installed for the benchmark only, in a virtual environment under
# ~/.cache/libintent, never for the engine).
#
#   benches/cpu/tradeoff.sh OUT_DIR      (after scripts/build.sh; on an idle machine)
#
# A result already in OUT_DIR is kept, so a stopped run goes on where it stopped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$1"; mkdir -p "$out"
source "$root/scripts/env.sh"
for fmt in F16 Q8_0 Q5_K_M Q4_K_M LORA; do
  for threads in 2 1; do
    [ -e "$out/bench-$fmt-t$threads.json" ] && continue
    "$root/target/release/intent" bench --model "$root/models/SmolLM2-135M-intent.$fmt.gguf" --naive \
      --repeat "${REPEAT:-10}" --warmup 2 --threads "$threads" --json "$out/bench-$fmt-t$threads.json" > "$out/bench-$fmt-t$threads.log"
    echo "$fmt, $threads thread(s): $(grep -E 'prefix cached' "$out/bench-$fmt-t$threads.log")"
  done
done
venv="${HOME}/.cache/libintent/torch-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, transformers" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch transformers safetensors
fi
"$root/target/release/intent" bench --model "$root/models/SmolLM2-135M-intent.Q4_K_M.gguf" --repeat 1 --warmup 0 \
  --dump-prompts "$out/prompts.json" > /dev/null
for threads in 2 1; do
  [ -e "$out/torch-fp16-t$threads.json" ] && continue
  "$venv/bin/python" "$root/benches/cpu/torch_peer.py" --model "$root/models/SmolLM2-135M-intent-hf" --prompts "$out/prompts.json" \
    --threads "$threads" --repeat "${REPEAT:-10}" --json "$out/torch-fp16-t$threads.json" > /dev/null 2>&1
done
# Sweeps with the default model (Q4_K_M, 2 threads): cost against query length, and
# throughput against batch size.
python3 "$root/benches/cpu/sweep_queries.py" "$root/data/test.jsonl" "$out"
model="$root/models/SmolLM2-135M-intent.Q4_K_M.gguf"
for len in 3 10 20 40; do
  [ -e "$out/sweep-len-$len.json" ] && continue
  "$root/target/release/intent" bench --model "$model" --queries "$out/len-$len.txt" --repeat 5 --warmup 1 --threads 2 \
    --json "$out/sweep-len-$len.json" > /dev/null
done
for batch in 1 2 4 8 16 32; do
  [ -e "$out/sweep-batch-$batch.json" ] && continue
  "$root/target/release/intent" bench --model "$model" --queries "$out/batch.txt" --repeat 3 --warmup 1 --threads 2 \
    --max-batch "$batch" --json "$out/sweep-batch-$batch.json" > /dev/null
done
python3 "$root/benches/cpu/tradeoff_table.py" "$out" "$root"
python3 "$root/benches/cpu/plots.py" "$out"
