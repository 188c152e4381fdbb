#!/usr/bin/env bash
# The README's first command: installs the missing Debian packages (through
# sudo when not run as root), builds what serving needs (citadel, citadelctl
# and the llm-gptq plugin; Release, ccache; CUDA kernels only when this
# machine has an NVIDIA GPU and a CUDA compiler), puts the default model in
# place (scripts/setup-default-model.sh) and starts the host on the shipped
# configuration. Arguments go to citadel (e.g. --log-level debug).
# Environment: CITADEL_BUILD_DIR (default build; config/citadel.yaml's
# plugins_dir expects build), CITADEL_CONFIG (default config/citadel.yaml),
# CITADEL_BUILD_TYPE (default Release; the CI smoke uses the test build's
# RelWithDebInfo so that ccache has every object already).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CITADEL_BUILD_DIR:-build}
config=${CITADEL_CONFIG:-config/citadel.yaml}
build_type=${CITADEL_BUILD_TYPE:-Release}

bash scripts/install-deps.sh --serving

# CUDA only where it can run: a GPU (driver present) and nvcc.
cuda=(-DCITADEL_CUDA=OFF)
what="CPU only"
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || [ ! -x /usr/local/cuda/bin/nvcc ] || nvcc=/usr/local/cuda/bin/nvcc
if [ -e /dev/nvidia0 ] || nvidia-smi -L >/dev/null 2>&1; then
  if [ -n "$nvcc" ]; then
    cuda=(-DCITADEL_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES=native)
    what="CUDA kernels for this machine's GPU"
  else
    what="CPU only: a GPU is present but no CUDA compiler (nvcc) was found"
  fi
fi

# ccache keyed on paths relative to the checkout, so other clones reuse it.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
echo "run.sh: building citadel, citadelctl, llm-gptq in $build ($build_type, $what)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
      -DCITADEL_BUILD_TESTS=OFF -DCITADEL_BUILD_BENCH=OFF "${cuda[@]}" >/dev/null
ninja -C "$build" citadel citadelctl llm-gptq

bash scripts/setup-default-model.sh

mkdir -p run
echo "run.sh: starting citadel on $config (the shipped one: HTTP on http://127.0.0.1:8080," \
     "admin: CITADEL_SOCKET=$PWD/run/citadel.sock $build/host/citadelctl status)"
exec "$build/host/citadel" --config "$config" "$@"
