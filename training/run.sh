#!/usr/bin/env bash
# Reproduces the committed adapter on a GPU host from a clean checkout (about 10 minutes on
# one H200; the four runs are small and share the GPU):
#   P   plain LoRA, validation held out            } which recipe generalises better to
#   A   with word-dropout augmentation, held out   } unseen wording (validation decides)
#   B0  plain, trained on train + validation       } the final candidates: the one whose
#   B1  augmented, trained on train + validation   } recipe won on validation is kept
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
train P --word-dropout 0 &
train A &
train B0 --word-dropout 0 --train-on-validation &
train B1 --train-on-validation &
wait
tail -n 2 "$work"/*.log
kept=$(python3 - "$work" <<'PY'
import json, sys
best = lambda run: json.load(open(f"{sys.argv[1]}/{run}/report.json"))["best"]["accuracy"]
print("B1" if best("A") > best("P") else "B0")
PY
)
echo "validation: augmented $(grep -o 'best validation accuracy [0-9.]*' "$work/A.log") vs plain $(grep -o 'best validation accuracy [0-9.]*' "$work/P.log"): keeping $kept"
mkdir -p "$adapter" "$root/reports/accuracy"
cp "$work/$kept"/{adapter_config.json,adapter_model.safetensors,intent.json,report.md,report.json,loss.png} "$adapter/"
cp "$work/A/report.json" "$adapter/report-heldout-augmented.json"
cp "$work/P/report.json" "$adapter/report-heldout-plain.json"
python3 evaluate.py --base "$base" --adapter "$adapter" --data "$root/data/test.jsonl" --out "$root/reports/accuracy/fp16-cuda-predictions.jsonl"
