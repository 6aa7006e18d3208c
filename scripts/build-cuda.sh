#!/usr/bin/env bash
# Compiles the CUDA build of the fp16-cuda plugin (and its GPU check program) on any
# machine, GPU or not, with the toolchain of scripts/cuda-toolchain.sh, in target/cuda (kept
# apart so that the CPU build's features do not flip back and forth). CI runs this so the
# CUDA code cannot rot; the GPU scripts under benches/gpu run what it builds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(scripts/cuda-toolchain.sh)"
source scripts/env.sh
cargo build --release --locked -p intent-backend-fp16-cuda --features cuda --lib --examples --target-dir target/cuda
plugin="target/cuda/release/libintent_backend_fp16_cuda.so"
# The CUDA build links the driver API and cuBLAS: a build that silently lost them is not one.
for lib in libcuda.so.1 libcublas.so.13; do
  readelf -d "$plugin" | grep -q "NEEDED.*\[$lib\]" || { echo "build-cuda: $plugin does not link $lib" >&2; exit 1; }
done
echo "built: $plugin, target/cuda/release/examples/gpu_check"
