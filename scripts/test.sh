#!/usr/bin/env bash
# Runs every test of libintent: set-up (packages, default model), build, header check,
# the Rust tests (unit, plugin host, end to end on the real model, CLI, the GPU plugins'
# model code on the CPU against llama.cpp and PyTorch), the CUDA builds of fp16-cuda and
# gptq-cuda (with the int4 kernels), the C API
# program under AddressSanitizer, the Go binding under the race detector, the Java
# binding (JUnit 5), the PHP extension (.phpt tests and its example), and the
# dataset checks (reproducible, train/test disjoint, counts), the checks of the
# prepared models against the training code's Python reference, a small soak of the C
# API under AddressSanitizer/LeakSanitizer, and a short run of every fuzz target.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
scripts/build.sh
scripts/gen-header.sh --check
source scripts/env.sh
cargo test --release --locked --workspace
scripts/build-cuda.sh
scripts/test-c.sh
scripts/soak.sh --asan --distinct 64 8 48
scripts/test-go.sh
scripts/test-java.sh
scripts/test-php.sh
python3 -m pytest -q data/tests training/tests
scripts/fuzz.sh --seconds 20
