#!/usr/bin/env bash
# Vets and tests the Go binding (bindings/go) against the built library and the default
# model, under the race detector, and builds its examples. Needs scripts/build.sh first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PKG_CONFIG_PATH="$root/target/release/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if [[ ! -f "$root/target/release/pkgconfig/libintent.pc" ]]; then
  echo "test-go.sh: $root/target/release/pkgconfig/libintent.pc is missing: run scripts/build.sh first" >&2
  exit 1
fi
cd "$root/bindings/go"
go vet ./...
go test -race -count=1 ./...
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
go build -o "$out/" ./examples/...
echo "test-go.sh: Go binding OK (examples built)"
