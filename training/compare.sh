#!/usr/bin/env bash
# Compares training recipes on the validation split (held out: every run trains on train
# only), all at once on one GPU host, and prints one table: validation accuracy and loss at
# the best step, per language and per style of noise. The test split decides nothing here.
#
# Each variant changes one thing against the control, the committed recipe (LoRA rank 64,
# alpha 128, 240 train examples per intent and language, 3 epochs):
#   control   the committed recipe
#   data2x    480 train examples per intent and language (more draws of the same train
#             templates: new products, fillers and noise), 1.5 epochs: the same steps
#   data3x    720 per intent and language, 1 epoch: every example seen once
#   rank128   LoRA rank 128, alpha 256
#   foldcaps  messages written in capitals are lower-cased before tokenizing, in training
#             and at run time (training/answers.py fold_caps)
# Usage: training/compare.sh BASE_GGUF WORK_DIR [VARIANT...]
# (five at once take about 36 minutes on one H200, three about 18). Results:
# WORK_DIR/<variant>/report.json, WORK_DIR/<variant>.log and WORK_DIR/compare.md
# (training/compare_table.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$1"
work="$2"
shift 2
variants=("$@")
[ "${#variants[@]}" -gt 0 ] || variants=(control data2x data3x rank128 foldcaps)
mkdir -p "$work"
export PYTHONUNBUFFERED=1

data_for() {  # train examples per intent and language -> a data folder with that train split
  local dir="$work/data-$1"
  [ -f "$dir/train.jsonl" ] || python3 "$root/data/generate.py" --out "$dir" --train-count "$1" > /dev/null
  echo "$dir"
}

recipe() {
  local r64=(--rank 64 --alpha 128 --word-dropout 0 --eval-every 100)
  case "$1" in
    control)  echo "240 ${r64[*]}" ;;
    data2x)   echo "480 ${r64[*]} --epochs 1.5" ;;
    data3x)   echo "720 ${r64[*]} --epochs 1" ;;
    rank128)  echo "240 --rank 128 --alpha 256 --word-dropout 0 --eval-every 100" ;;
    foldcaps) echo "240 ${r64[*]} --normalize fold_caps" ;;
    *) echo "unknown variant: $1" >&2; return 1 ;;
  esac
}

for v in "${variants[@]}"; do recipe "$v" > /dev/null; done
for v in "${variants[@]}"; do
  read -r count args <<< "$(recipe "$v")"
  data_for "$count" > /dev/null
done
for v in "${variants[@]}"; do
  read -r count args <<< "$(recipe "$v")"
  # shellcheck disable=SC2086
  (cd "$root/training" && python3 train.py --base "$base" --data "$(data_for "$count")" --taxonomy ecommerce-v1 \
      --out "$work/$v" $args > "$work/$v.log" 2>&1) &
done
wait

python3 "$root/training/compare_table.py" "$work" "${variants[@]}" | tee "$work/compare.md"
