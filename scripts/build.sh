#!/usr/bin/env bash
# Builds libintent (release): the `intent` CLI, libintent.so / libintent.a, the gguf-cpu
# plugin, and target/release/libintent.pc for pkg-config (pointing at this tree).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/env.sh
cargo build --release --locked "$@"
out="$root/target/release"
ln -sf libintent.so "$out/libintent.so.1"
mkdir -p "$out/pkgconfig"
cat > "$out/pkgconfig/libintent.pc" <<PC
prefix=$root
libdir=$out
includedir=$root/include

Name: libintent
Description: E-commerce intent recognition engine, embeddable (C API)
Version: $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lintent
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
PC
echo "built: $out/intent, $out/libintent.so, $out/libintent.a, $out/libintent_backend_gguf_cpu.so"

# The default model: the fine-tuned adapter merged into the base, in every GGUF format and
# as a GPTQ checkpoint calibrated on the train split, and the adapter as a run-time LoRA
# GGUF over the unchanged base (made again when missing or older than
# the adapter). Needs the base: scripts/setup.sh.
base="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
adapter="$root/models/smollm2-135m-ecommerce-v1-lora"
default="$root/models/SmolLM2-135M-intent.Q4_K_M.gguf"
if [ -f "$base" ]; then
  stale=0
  [ -f "$default" ] || stale=1
  [ -f "$root/models/SmolLM2-135M-intent-gptq/model.safetensors" ] || stale=1
  [ -f "$root/models/SmolLM2-135M-intent.LORA.gguf" ] || stale=1
  for f in "$adapter"/adapter_model.safetensors "$adapter"/intent.json; do
    [ "$f" -nt "$default" ] && stale=1
  done
  if [ "$stale" -eq 1 ]; then
    "$out/intent" model prepare --base "$base" --adapter "$adapter" --out "$root/models" --name SmolLM2-135M-intent \
      --formats F16,Q8_0,Q5_K_M,Q4_K_M,GPTQ,LORA --calibration "$root/data/train.jsonl"
  fi
  echo "default model: $default"
else
  echo "base model missing ($base): run scripts/setup.sh, then this script again" >&2
fi
