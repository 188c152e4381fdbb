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

# --- Sanitizers and fuzzing (scripts/sanitize.sh, scripts/fuzz.sh) ----------
# ASan + UBSan over the whole suite, TSan over the threaded parts, each fuzz
# target for 15 s from its seed corpus; every finding fails the run.
export CITADEL_SUMMARY_FILE=$(mktemp)
hardening=0
scripts/sanitize.sh ${CITADEL_SANITIZE_STAGES:-asan tsan} || hardening=1
scripts/fuzz.sh "${CITADEL_FUZZ_SECONDS:-15}" || hardening=1
echo "== summary"; echo "test suite: ok"; cat "$CITADEL_SUMMARY_FILE"; rm -f "$CITADEL_SUMMARY_FILE"
((hardening == 0)) || exit 1
