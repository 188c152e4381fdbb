#!/usr/bin/env bash
# Installs the Debian 12 packages Citadel builds, runs and is tested with.
# Idempotent: installs only what is missing and needs root only then (run as a
# normal user it goes through sudo for that step).
#   scripts/install-deps.sh            everything (.ci/run, scripts/test.sh)
#   scripts/install-deps.sh --serving  what the serving build needs (scripts/run.sh)
set -euo pipefail
serving=(
  build-essential cmake ninja-build ccache pkg-config git python3 python3-venv curl
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libsystemd-dev libpcre2-dev libstb-dev
  libssl-dev libwebp-dev
  # Video jobs (host/media): MP4 (H.264 via libx264), WebP/GIF previews.
  libavcodec-dev libavformat-dev libswscale-dev libavutil-dev
  # Fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes,
  # llvm-symbolizer for readable reports.
  clang libclang-rt-14-dev llvm
)
testing=(
  catch2
  prometheus  # for promtool: the /metrics exposition test
)
case "${1:-}" in
  "") packages=("${serving[@]}" "${testing[@]}") ;;
  --serving) packages=("${serving[@]}") ;;
  *) echo "usage: $0 [--serving]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "install-deps: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: installing these Debian packages needs root (and there is no sudo):" \
         "${missing[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi
# The prometheus package would start (and enable) a Prometheus server; only
# its promtool is wanted. policy-rc.d keeps it from starting while installed.
policy=/usr/sbin/policy-rc.d
made_policy=no
new_prometheus=no
[[ " ${missing[*]} " != *" prometheus "* ]] || new_prometheus=yes
if [ "$new_prometheus" = yes ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  made_policy=yes
fi
trap '[ "$made_policy" = no ] || "${as_root[@]}" rm -f "$policy"' EXIT
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ "$new_prometheus" = yes ] && [ -d /run/systemd/system ]; then
  "${as_root[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
