#!/usr/bin/env bash
# The CPU half of the trade-off table: every GGUF format of the fine-tuned default model
# timed with `intent bench` (engine with the prefix cached, prompt recomputed, batches,
# peak RSS, load time) and the straightforward way (`--naive`: whole prompt, free greedy
# answer), with 2 threads and with 1, one process per format and thread count, then joined
# with the accuracy table (reports/accuracy/accuracy.json) and the files' sizes.
#
#   benches/cpu/tradeoff.sh OUT_DIR      (after scripts/build.sh; on an idle machine)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$1"; mkdir -p "$out"
source "$root/scripts/env.sh"
for fmt in F16 Q8_0 Q5_K_M Q4_K_M; do
  for threads in 2 1; do
    "$root/target/release/intent" bench --model "$root/models/SmolLM2-135M-intent.$fmt.gguf" --naive \
      --repeat "${REPEAT:-10}" --warmup 2 --threads "$threads" --json "$out/bench-$fmt-t$threads.json" > "$out/bench-$fmt-t$threads.log"
    echo "$fmt, $threads thread(s): $(grep -E 'prefix cached' "$out/bench-$fmt-t$threads.log")"
  done
done
python3 "$root/benches/cpu/tradeoff_table.py" "$out" "$root"
