#!/usr/bin/env bash
# Builds Citadel (CPU backends: the lean build CI uses) and runs the whole test
# suite through CTest. The README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CITADEL_TEST_BUILD_DIR:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCITADEL_CUDA=OFF \
      -DCITADEL_BUILD_BENCH=ON >/dev/null
ninja -C "$build"
ctest --test-dir "$build" --output-on-failure
