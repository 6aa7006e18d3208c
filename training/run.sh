#!/usr/bin/env bash
# Reproduces the committed adapter on a GPU host from a clean checkout (about 15 minutes on
# one H200; the two runs are small and share the GPU). The recipe: LoRA rank 64, alpha 128,
# on 720 train examples per intent and language (data/generate.py --train-count 720: three
# times the committed train split's draws of the same train templates, each seen once),
# messages written in capitals lower-cased (the fold_caps normalization, applied by the
# engine too). training/compare.sh chose each part against the previous recipe on the
# validation split (training/README.md, round 4).
#   P  the recipe, validation held out: its validation accuracy is the recipe's score
#   B  the same, trained on train + validation for the whole schedule: the kept adapter
# (Earlier rounds compared word-dropout augmentation with plain LoRA on validation, plain
# won: 76.16% against 76.11%; rank 16 with rank 8: 83.34% against 81.62%; rank 32 with
# rank 16: 88.82% against 87.00%; rank 64 with rank 32: 89.41% against 88.82%.)
# TRAIN_COUNT (default 720) sets the examples drawn per intent and language; 1,200 gained
# nothing on validation (round 5, training/README.md).
# The kept adapter goes to ADAPTER_DIR with its report and the held-out run's report; its
# FP16 test predictions (PyTorch, on the GPU) go to reports/accuracy for the accuracy table.
# The test split decides nothing: it is only scored.
# Needs: python3 with torch (CUDA), transformers, peft, tokenizers, safetensors, jinja2,
# numpy, matplotlib; the base model (scripts/fetch-model.sh fetches it).
# Usage: training/run.sh [BASE_GGUF] [ADAPTER_DIR] [WORK_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${1:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
adapter="${2:-$root/models/smollm2-135m-ecommerce-v1-lora}"
work="${3:-$(mktemp -d)}"
cd "$root/training"
export PYTHONUNBUFFERED=1
mkdir -p "$work"
python3 "$root/data/generate.py" --out "$work/data" --train-count "${TRAIN_COUNT:-720}" > /dev/null
train() { python3 train.py --base "$base" --data "$work/data" --taxonomy ecommerce-v1 --out "$work/$1" "${@:2}" > "$work/$1.log" 2>&1; }
recipe=(--rank 64 --alpha 128 --word-dropout 0 --epochs 1 --normalize fold_caps)
train P "${recipe[@]}" &
train B "${recipe[@]}" --train-on-validation --eval-every 500 &
wait
tail -n 2 "$work"/*.log
echo "validation (held out): $(grep -o 'best validation accuracy [0-9.]*' "$work/P.log")"
mkdir -p "$adapter" "$root/reports/accuracy"
cp "$work/B"/{adapter_config.json,adapter_model.safetensors,intent.json,report.md,report.json,loss.png} "$adapter/"
rm -f "$adapter"/report-heldout*.json "$adapter"/heldout*.log
cp "$work/P/report.json" "$adapter/report-heldout.json"
cp "$work/P.log" "$adapter/heldout.log"
python3 evaluate.py --base "$base" --adapter "$adapter" --data "$root/data/test.jsonl" --out "$root/reports/accuracy/fp16-cuda-predictions.jsonl"
