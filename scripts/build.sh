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
