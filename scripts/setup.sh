#!/usr/bin/env bash
# Installs what building and testing libintent needs on a fresh Debian machine
# (system packages, cbindgen) and fetches the default model. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_pkgs=()
for pkg in cmake libclang-dev pkg-config php-cli php-dev php-parser; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "installing: ${need_pkgs[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! command -v cbindgen >/dev/null 2>&1 || ! cbindgen --version | grep -q "0.29"; then
  echo "installing cbindgen 0.29.4"
  cargo install --quiet --locked cbindgen --version 0.29.4
fi

# numpy for the checks of the model preparation against the training code's reference.
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet "numpy==2.4.6"

"$root/scripts/fetch-model.sh"
