#!/usr/bin/env bash
# Runs libintent's fuzz targets (fuzz/, cargo-fuzz with libFuzzer and AddressSanitizer).
#
#   scripts/fuzz.sh [--seconds N] [--grow] [TARGET ...]
#
# Each target runs N seconds (default 30) from its committed corpus (fuzz/corpus/TARGET.tar.xz,
# one archive per target so that thousands of small inputs stay one file), with leak
# detection, a 10 s per-input hang limit and a 4 GiB memory limit. New inputs go to a
# scratch directory, unless --grow: then the target runs in fuzz/corpus/TARGET/ (unpacked
# from the archive if absent), the corpus is minimized (`cargo fuzz cmin`) and packed back
# into the archive. Crashes are written to fuzz/artifacts/TARGET/ and fail the run.
# The c_api target needs the built library, plugin and default model (scripts/build.sh).
# Prints one line per target: executions, seconds, corpus size.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
toolchain="nightly-2026-05-20"
cargo_fuzz_version="0.13.2"
seconds=30
grow=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --grow) grow=1; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] || targets=(c_api config_files gguf_header peft_adapter prompt quantize_config)

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "installing Rust $toolchain (for the sanitizers cargo-fuzz needs)"
  rustup toolchain install "$toolchain" --profile minimal >/dev/null
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  echo "installing cargo-fuzz $cargo_fuzz_version"
  cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

cd "$root/fuzz"
cargo "+$toolchain" fuzz build >/dev/null 2>&1 || cargo "+$toolchain" fuzz build
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
unpack() { mkdir -p "$2"; [ ! -f "corpus/$1.tar.xz" ] || tar -xJf "corpus/$1.tar.xz" -C "$2" --strip-components=1; }
for t in "${targets[@]}"; do
  if [ "$grow" -eq 1 ]; then
    [ -d "corpus/$t" ] || unpack "$t" "corpus/$t"
    dirs=("corpus/$t")
  else
    unpack "$t" "$scratch/seeds/$t"
    mkdir -p "$scratch/new/$t"
    dirs=("$scratch/new/$t" "$scratch/seeds/$t")
  fi
  dict=()
  [ -f "dicts/$t.dict" ] && dict=("-dict=dicts/$t.dict")
  log="$scratch/$t.log"
  if cargo "+$toolchain" fuzz run "$t" "${dirs[@]}" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -detect_leaks=1 \
      -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    corpus="$(find "${dirs[@]}" -type f | wc -l)"
    echo "fuzz $t: ok, $execs executions in ${seconds}s, corpus $corpus inputs"
    if [ "$grow" -eq 1 ]; then
      cargo "+$toolchain" fuzz cmin "$t" "corpus/$t" >"$scratch/$t.cmin.log" 2>&1
      tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cJf "corpus/$t.tar.xz" -C corpus "$t"
      echo "fuzz $t: corpus minimized to $(find "corpus/$t" -type f | wc -l) inputs, packed into fuzz/corpus/$t.tar.xz"
    fi
  else
    status=1
    echo "fuzz $t: FAILED (artifacts in fuzz/artifacts/$t/)"
    grep -E "ERROR|panicked|SUMMARY|Test unit written" "$log" | head -20
    tail -40 "$log"
  fi
done
exit "$status"
