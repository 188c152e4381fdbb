#!/usr/bin/env bash
# Builds Citadel (CPU backends: the lean build CI uses) and runs the whole test
# suite through CTest: citadel-tests and the first-run smoke (label smoke,
# scripts/smoke-first-run.sh). The README's test command; .ci/run runs exactly
# this. ccache hashes paths relative to the checkout, so the smoke's build of
# a clean copy finds every object this build made.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CITADEL_TEST_BUILD_DIR:-build-test}
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCITADEL_CUDA=OFF \
      -DCITADEL_BUILD_BENCH=ON >/dev/null
ninja -C "$build"
ctest --test-dir "$build" --output-on-failure
