# Sourced by the build and test scripts: the SIMD features ggml is built with.
# .cargo/config.toml sets a portable AVX2 baseline; where this machine's CPU has
# AVX-512 (with VNNI/BF16/VBMI), they are turned on too. AMX stays off: ggml's AMX
# kernels crashed with SIGILL on this project's VMs. The result is logged by
# `intent info` (llama.cpp's system info). These apply when llama.cpp is first configured:
# its CMake cache is kept, so after changing them run `cargo clean -p llama-cpp-sys-2`.
flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
has() { case " $flags " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if has avx512f && has avx512bw && has avx512vl; then
  export GGML_AVX512=ON
  has avx512_vnni && export GGML_AVX512_VNNI=ON
  has avx512_bf16 && export GGML_AVX512_BF16=ON
  has avx512vbmi && export GGML_AVX512_VBMI=ON
fi
unset flags
