#!/usr/bin/env bash
# Compiles the CUDA builds of the GPU plugins (fp16-cuda, gptq-cuda, with our int4
# kernels) and their GPU check programs on any machine, GPU or not, with the toolchain of
# scripts/cuda-toolchain.sh, in target/cuda (kept apart so that the CPU build's features
# do not flip back and forth). CI runs this so the CUDA code cannot rot; the GPU scripts
# under benches/gpu run what it builds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(scripts/cuda-toolchain.sh)"
source scripts/env.sh
cargo build --release --locked --features cuda --target-dir target/cuda \
  -p intent-backend-fp16-cuda -p intent-backend-gptq-cuda --lib
cargo build --release --locked --features cuda --target-dir target/cuda -p intent-candle-llama --examples
# The CUDA build links the driver API and cuBLAS: a build that silently lost them is not one.
for name in fp16_cuda gptq_cuda; do
  plugin="target/cuda/release/libintent_backend_${name}.so"
  for lib in libcuda.so.1 libcublas.so.13; do
    readelf -d "$plugin" | grep -q "NEEDED.*\[$lib\]" || { echo "build-cuda: $plugin does not link $lib" >&2; exit 1; }
  done
done
# The int4 kernels are embedded as PTX for sm_${CUDA_COMPUTE_CAP}.
grep -q "int4_mm_m16_perm" target/cuda/release/libintent_backend_gptq_cuda.so || { echo "build-cuda: the int4 kernels are missing" >&2; exit 1; }
echo "built: target/cuda/release/libintent_backend_{fp16,gptq}_cuda.so, examples gpu_check and int4_check"
