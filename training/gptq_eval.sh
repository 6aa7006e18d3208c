#!/usr/bin/env bash
# On the GPU host: makes the GPTQ checkpoint with `intent model prepare` (the project's own
# GPTQ, binaries built elsewhere and carried) from the base and the committed adapter,
# then scores it on the test split in PyTorch, its weights decoded by the reference
# dequantizer (training/gptq_reference.py). Prints the accuracy and writes the
# predictions and the checkpoint's per-layer report into OUT.
#
#   training/gptq_eval.sh BASE.gguf BIN_DIR OUT [CALIBRATION_SAMPLES [PREPARE_OPTION ...]]
#
# Options after the sample count go to `intent model prepare` (--gptq-group-size 32, ...).
#
# BIN_DIR holds `intent` and `libintent_backend_gguf_cpu.so` (and libgomp.so.1 if the
# host lacks it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$1"; bin="$(cd "$2" && pwd)"; out="$3"; samples="${4:-256}"
shift $(( $# < 4 ? $# : 4 ))
adapter="$root/models/smollm2-135m-ecommerce-v1-lora"
mkdir -p "$out/models"
export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
start=$SECONDS
"$bin/intent" model prepare --base "$base" --adapter "$adapter" --out "$out/models" --name SmolLM2-135M-intent \
  --formats GPTQ --calibration "$root/data/train.jsonl" --calibration-samples "$samples" --plugin-path "$bin" "$@"
echo "GPTQ checkpoint made in $((SECONDS - start)) s ($(nproc) CPU cores)"
gptq="$out/models/SmolLM2-135M-intent-gptq"
cp "$gptq/gptq-report.json" "$gptq/quantize_config.json" "$out/"
python3 "$root/training/evaluate.py" --base "$base" --adapter "$adapter" --data "$root/data/test.jsonl" \
  --out "$out/gptq-predictions.jsonl" --gptq "$gptq"
