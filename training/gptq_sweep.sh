#!/usr/bin/env bash
# GPTQ settings compared on the GPU host: group size 64 or 32, 256 or 512 calibration
# texts, four checkpoints made at once by training/gptq_eval.sh and scored on the test
# split. Prints one accuracy line per setting; predictions and reports go to OUT/<setting>/.
#
#   training/gptq_sweep.sh BASE.gguf BIN_DIR OUT
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$1"; bin="$2"; out="$3"
mkdir -p "$out"
run() { name=$1; samples=$2; shift 2; "$root/training/gptq_eval.sh" "$base" "$bin" "$out/$name" "$samples" "$@" >"$out/$name.log" 2>&1; }
run g64-256 256 &
run g32-256 256 --gptq-group-size 32 &
run g64-512 512 &
run g32-512 512 --gptq-group-size 32 &
wait
for name in g64-256 g32-256 g64-512 g32-512; do
  echo "$name: $(grep -h -E 'made in|accuracy' "$out/$name.log" | tr '\n' ' ')"
done
