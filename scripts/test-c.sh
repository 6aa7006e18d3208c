#!/usr/bin/env bash
# Compiles ffi/tests/c/api_test.c against include/intent.h with pkg-config's flags and
# runs it under AddressSanitizer with leak detection. Needs scripts/build.sh first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/release"
export PKG_CONFIG_PATH="$out/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cc -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
  -o "$work/api_test" "$root/ffi/tests/c/api_test.c" $(pkg-config --cflags --libs libintent) -lpthread -lm
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
LSAN_OPTIONS=suppressions="$root/ffi/tests/c/lsan.supp":print_suppressions=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$work/api_test" "$work"
