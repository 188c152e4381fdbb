#!/usr/bin/env bash
# Installs the Debian 12 packages Citadel builds and runs with. Idempotent.
# Run as root (or through sudo). Used by the README's first command and .ci/run.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config git python3 python3-venv
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 libsystemd-dev libpcre2-dev libstb-dev
  libssl-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
