#!/usr/bin/env bash
# GPTQ settings compared on the GPU host: checkpoints made at once by training/gptq_eval.sh
# and scored on the test split. Prints one accuracy line per setting; predictions and
# reports go to OUT/<setting>/.
#
#   training/gptq_sweep.sh BASE.gguf BIN_DIR OUT [SETTING ...]
#
# A SETTING is one quoted word list: its name, the calibration sample count, then options
# for `intent model prepare`, e.g. 'g32-512 512 --gptq-group-size 32'. Without settings,
# the first sweep's four: groups of 64 or 32, 256 or 512 calibration texts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$1"; bin="$2"; out="$3"
shift 3
settings=("$@")
if [ ${#settings[@]} -eq 0 ]; then
  settings=("g64-256 256" "g32-256 256 --gptq-group-size 32" "g64-512 512" "g32-512 512 --gptq-group-size 32")
fi
mkdir -p "$out"
names=()
for setting in "${settings[@]}"; do
  read -r -a words <<< "$setting"
  names+=("${words[0]}")
  "$root/training/gptq_eval.sh" "$base" "$bin" "$out/${words[0]}" "${words[@]:1}" > "$out/${words[0]}.log" 2>&1 &
done
wait
for name in "${names[@]}"; do
  echo "$name: $(grep -h -E 'made in|accuracy' "$out/$name.log" | tr '\n' ' ')"
done
python3 "$root/training/gptq_sweep_table.py" "$out" "${names[@]}"
