#!/usr/bin/env bash
# On a GPU host with many cores: every format of the fine-tuned model, prepared from BASE and
# ADAPTER by the carried `intent model prepare` exactly as scripts/build.sh prepares them, and
# scored on the test split at once: the GGUF formats and the run-time LoRA by `intent eval`
# (gguf-cpu, the cores shared out), the GPTQ checkpoint in PyTorch with its weights decoded by
# the reference dequantizer (training/gptq_reference.py). The predictions land in OUT in the
# layout of reports/accuracy/, so scripts/accuracy_table.py reads them as they are.
#
#   training/formats_eval.sh BASE.gguf ADAPTER_DIR BIN_DIR OUT
#
# BIN_DIR holds `intent` and `libintent_backend_gguf_cpu.so` (and libgomp.so.1 if the host
# lacks it). Calibration and test data: the checkout's data/train.jsonl and data/test.jsonl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; adapter="$2"; bin="$(cd "$3" && pwd)"; out="$4"
name=SmolLM2-135M-intent
models="$out/models"
mkdir -p "$models"
export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The run-time LoRA's manifest names the base by file name, beside it.
ln -sf "$base" "$models/$(basename "$base")"

start=$SECONDS
"$bin/intent" model prepare --base "$base" --adapter "$adapter" --out "$models" --name "$name" \
  --formats F16,Q8_0,Q5_K_M,Q4_K_M,GPTQ,LORA --calibration "$root/data/train.jsonl" --plugin-path "$bin"
echo "every format made in $((SECONDS - start)) s ($(nproc) CPU cores)"

formats=(F16 Q8_0 Q5_K_M Q4_K_M LORA)
threads=$(( $(nproc) / ${#formats[@]} ))
[ "$threads" -ge 1 ] || threads=1
start=$SECONDS
pids=()
for fmt in "${formats[@]}"; do
  "$bin/intent" eval --model "$models/$name.$fmt.gguf" --threads "$threads" --plugin-path "$bin" \
    --data "$root/data/test.jsonl" --out-dir "$out/$fmt" > "$out/$fmt.log" 2>&1 &
  pids+=($!)
done
python3 "$root/training/evaluate.py" --base "$base" --adapter "$adapter" --data "$root/data/test.jsonl" \
  --out "$out/gptq-predictions.jsonl" --gptq "$models/$name-gptq"
cp "$models/$name-gptq/gptq-report.json" "$out/"
failed=0
for i in "${!formats[@]}"; do
  if wait "${pids[$i]}"; then
    echo "${formats[$i]}: $(tail -n 1 "$out/${formats[$i]}.log")"
  else
    echo "${formats[$i]}: intent eval failed, see $out/${formats[$i]}.log" >&2
    failed=1
  fi
done
echo "every format scored in $((SECONDS - start)) s, $threads threads per GGUF format"
exit "$failed"
