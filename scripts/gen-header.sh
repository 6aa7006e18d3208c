#!/usr/bin/env bash
# Regenerates include/intent.h from ffi/src/lib.rs with cbindgen (0.29.x).
# With --check, fails if the committed header differs from what cbindgen generates.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/ffi"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
cbindgen --quiet --config cbindgen.toml --crate intent --output "$tmp"
if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$root/include/intent.h" "$tmp"; then
    echo "include/intent.h is out of date: run scripts/gen-header.sh and commit it" >&2
    exit 1
  fi
  echo "include/intent.h is up to date"
else
  cp "$tmp" "$root/include/intent.h"
  echo "wrote include/intent.h"
fi
