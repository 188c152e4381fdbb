#!/usr/bin/env bash
# Builds Citadel (Release; CUDA backends when a CUDA toolkit is found), makes
# the embedded default model if it is not there yet, and starts the host on the
# shipped configuration (config/citadel.yaml). The README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CITADEL_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCITADEL_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" citadel citadelctl llm-gptq
if [ -x tools/setup_default_model.sh ]; then
  tools/setup_default_model.sh
fi
mkdir -p run
echo "citadel: HTTP on http://127.0.0.1:8080, admin: CITADEL_SOCKET=$PWD/run/citadel.sock $build/host/citadelctl status"
exec "$build/host/citadel" --config config/citadel.yaml "$@"
