#!/usr/bin/env bash
# Soak test of the C API (ffi/tests/c/soak.c): THREADS threads x PER_THREAD queries on one
# engine, every answer compared with a sequential run, resident memory after warm-up vs
# at the end.
#
#   scripts/soak.sh [--asan] [--distinct N] [THREADS] [PER_THREAD]   (default 8 x 20000)
#
# --asan builds it with AddressSanitizer and LeakSanitizer (leaks fail the run); CI runs
# `scripts/soak.sh --asan --distinct 64 8 48`. The queries are N (default 512) distinct
# test-split texts of at most 80 bytes. Needs scripts/build.sh first. Prints the figures
# as one JSON line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
asan=0
distinct=512
while [ $# -gt 0 ]; do
  case "$1" in
    --asan) asan=1; shift ;;
    --distinct) distinct="$2"; shift 2 ;;
    *) break ;;
  esac
done
threads="${1:-8}"
per_thread="${2:-20000}"
out="$root/target/release"
export PKG_CONFIG_PATH="$out/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$root/data/test.jsonl" "$distinct" >"$work/queries.txt" <<'PY'
import json, sys
texts = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
short = [t for t in texts if len(t.encode()) <= 80 and "\n" not in t]
n = int(sys.argv[2])
step = max(1, len(short) // n)
print("\n".join(short[::step][:n]))
PY
flags=(-O2)
env_vars=()
if [ "$asan" -eq 1 ]; then
  flags=(-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer)
  env_vars=(ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
            LSAN_OPTIONS=suppressions="$root/ffi/tests/c/lsan.supp":print_suppressions=0
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
fi
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "${flags[@]}" -o "$work/soak" "$root/ffi/tests/c/soak.c" \
  $(pkg-config --cflags --libs libintent) -lpthread -lm
env "${env_vars[@]}" "$work/soak" "$work/queries.txt" "$threads" "$per_thread"
