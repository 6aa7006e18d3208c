#!/usr/bin/env bash
# Installs the CUDA 13.0 toolchain the CUDA backends are compiled with, on a machine without a
# GPU and without anything installed system-wide: nvcc, headers and libraries from NVIDIA's
# PyPI wheels (pinned), unversioned .so links, and a libcuda.so link stub (libcuda comes with
# the driver, which a build machine has not; the stub is only linked against, never loaded).
# Prints the environment to build with, for `eval "$(scripts/cuda-toolchain.sh)"`.
#
# Cached in ${INTENT_CUDA_CACHE:-~/.cache/libintent/cuda-13.0}; safe to run again.
# nvcc stays on 13.0.x: cudarc 0.19 refuses newer toolkits and driver 580 their PTX.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${INTENT_CUDA_CACHE:-$HOME/.cache/libintent/cuda-13.0}"
cuda="$cache/nvidia/cu13"
wheels=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
  nvidia-cublas==13.0.0.19
  nvidia-curand==10.4.0.35
  nvidia-cuda-nvrtc==13.0.48
)
stamp="$cache/.installed-$(printf '%s\n' "${wheels[@]}" | sha256sum | cut -c1-16)"

if [ ! -f "$stamp" ]; then
  echo "cuda-toolchain: installing CUDA 13.0 from PyPI wheels into $cache" >&2
  mkdir -p "$cache/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache/wheels" "${wheels[@]}" >&2
  for w in "$cache"/wheels/*.whl; do
    python3 -m zipfile -e "$w" "$cache" >&2
  done
  chmod +x "$cuda"/bin/* "$cuda"/nvvm/bin/* 2>/dev/null || true
  for lib in cublas cublasLt curand nvrtc cudart; do
    real="$(ls "$cuda"/lib/lib$lib.so.* 2>/dev/null | sort | head -1)"
    [ -n "$real" ] || { echo "cuda-toolchain: lib$lib.so.* missing from the wheels" >&2; exit 1; }
    ln -sf "$(basename "$real")" "$cuda/lib/lib$lib.so"
  done
  rm -rf "$cache/wheels"
  touch "$stamp"
fi

# The link stub: one empty function per driver API symbol cudarc may reference.
stub="$cuda/lib/stubs/libcuda.so"
if [ ! -f "$stub" ]; then
  mkdir -p "$cuda/lib/stubs"
  syms="$(grep -ho '\bcu[A-Z][A-Za-z0-9_]*' "$cuda"/include/cuda.h | sort -u)"
  {
    echo "/* libcuda link stub: never loaded at run time (the driver's libcuda.so.1 is). */"
    for s in $syms; do echo "void $s(void) {}"; done
  } > "$cuda/lib/stubs/libcuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stub" "$cuda/lib/stubs/libcuda_stub.c"
fi

"$cuda/bin/nvcc" --version | grep -q "release 13.0" || { echo "cuda-toolchain: nvcc is not 13.0" >&2; exit 1; }
cat <<ENV
export CUDA_ROOT="$cuda"
export CUDA_PATH="$cuda"
export PATH="$cuda/bin:\$PATH"
export CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-90}"
export LIBRARY_PATH="$cuda/lib:$cuda/lib/stubs\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
ENV
