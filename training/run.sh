#!/usr/bin/env bash
# Reproduces the committed adapter on a GPU host from a clean checkout (about 10 minutes on
# one H100; the four runs are small and share the GPU):
#   P8   LoRA rank 8, validation held out           } which rank generalises better to
#   P16  LoRA rank 16, validation held out          } unseen wording (validation decides)
#   B8   rank 8, trained on train + validation      } the final candidates: the one whose
#   B16  rank 16, trained on train + validation     } rank won on validation is kept
# (An earlier round compared word-dropout augmentation with plain LoRA on validation, and
# plain won: 76.16% against 76.11%; all four runs are plain.)
# The kept adapter goes to ADAPTER_DIR with its report and the two held-out reports; its
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
train() { python3 train.py --base "$base" --data "$root/data" --taxonomy ecommerce-v1 --out "$work/$1" "${@:2}" > "$work/$1.log" 2>&1; }
r16=(--rank 16 --alpha 32)
train P8 --word-dropout 0 &
train P16 --word-dropout 0 "${r16[@]}" &
train B8 --word-dropout 0 --train-on-validation --eval-every 500 &
train B16 --word-dropout 0 --train-on-validation --eval-every 500 "${r16[@]}" &
wait
tail -n 2 "$work"/*.log
kept=$(python3 - "$work" <<'PY'
import json, sys
best = lambda run: json.load(open(f"{sys.argv[1]}/{run}/report.json"))["best"]["accuracy"]
print("B16" if best("P16") > best("P8") else "B8")
PY
)
echo "validation: rank 16 $(grep -o 'best validation accuracy [0-9.]*' "$work/P16.log") vs rank 8 $(grep -o 'best validation accuracy [0-9.]*' "$work/P8.log"): keeping $kept"
mkdir -p "$adapter" "$root/reports/accuracy"
cp "$work/$kept"/{adapter_config.json,adapter_model.safetensors,intent.json,report.md,report.json,loss.png} "$adapter/"
rm -f "$adapter"/report-heldout-*.json "$adapter"/heldout-*.log
cp "$work/P8/report.json" "$adapter/report-heldout-rank8.json"
cp "$work/P16/report.json" "$adapter/report-heldout-rank16.json"
cp "$work/P8.log" "$adapter/heldout-rank8.log"
cp "$work/P16.log" "$adapter/heldout-rank16.log"
python3 evaluate.py --base "$base" --adapter "$adapter" --data "$root/data/test.jsonl" --out "$root/reports/accuracy/fp16-cuda-predictions.jsonl"
