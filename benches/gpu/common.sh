# Shared by the GPU scripts (sourced): the GPU's description in $gpu, a scratch folder in
# $work, the plugins' folder on the loader path, and peak_gpu.
# Needs $bin (the folder of the carried binaries) and $out (the results folder).
work="$(mktemp -d)"
mkdir -p "$out"
export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
intent="$bin/intent"
gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
echo "GPU: $gpu"

# Runs a command (at most STEP_TIMEOUT seconds, default 180) and writes the peak memory of
# the processes on the GPU meanwhile (nvidia-smi every 0.5 s; faster polling slowed the
# benchmarks), in MiB, to $work/peak.
peak_gpu() {
  local log="$work/mem.$$"; : > "$log"
  ( while true; do nvidia-smi --query-compute-apps=used_memory --format=csv,noheader,nounits >> "$log" 2>/dev/null; sleep 0.5; done ) &
  local poller=$!
  local start=$SECONDS
  timeout "${STEP_TIMEOUT:-180}" "$@"
  echo "  ($(( SECONDS - start )) s: $*)" | cut -c1-160 >&2
  kill "$poller"; wait "$poller" 2>/dev/null || true
  sort -n "$log" | tail -1 > "$work/peak"
}
