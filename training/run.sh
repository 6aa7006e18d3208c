#!/usr/bin/env bash
# Reproduces the fine-tuning run on a GPU host from a clean checkout.
# Needs: python3 with torch (CUDA), transformers, peft, tokenizers, safetensors, jinja2,
# numpy, matplotlib; the base model (scripts/fetch-model.sh fetches it).
# Usage: training/run.sh [BASE_GGUF] [OUT_DIR] [extra train.py options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${1:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
out="${2:-$root/models/smollm2-135m-ecommerce-v1-lora}"
shift $(( $# < 2 ? $# : 2 ))
cd "$root"
PYTHONUNBUFFERED=1 python3 training/train.py --base "$base" --data data --taxonomy ecommerce-v1 --out "$out" "$@"
