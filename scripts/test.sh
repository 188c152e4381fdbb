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

# --- Python API tests (tests/python) -------------------------------------------
# A venv with the pinned openai client and pytest, remade when
# tests/python/requirements.txt changes; CTest runs them as `python-api`.
venv="$PWD/$build/venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/python/requirements.txt "$venv/requirements.txt"; then
  mkdir -p "$build"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
  cp tests/python/requirements.txt "$venv/requirements.txt"
fi
# --------------------------------------------------------------------------------

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCITADEL_CUDA=OFF \
      -DCITADEL_BUILD_BENCH=ON -DCITADEL_PYTHON_TEST_VENV="$venv" >/dev/null
ninja -C "$build"
ctest --test-dir "$build" --output-on-failure

# --- Sanitizers and fuzzing (scripts/sanitize.sh, scripts/fuzz.sh) ----------
# Each fuzz target for 15 s from its seed corpus; with
# CITADEL_SANITIZE_STAGES="asan tsan" also ASan + UBSan over the whole suite and
# TSan over the threaded parts (off by default until their first clean run on
# an idle machine is recorded: two more full builds). Every finding fails the run.
export CITADEL_SUMMARY_FILE=$(mktemp)
hardening=0
if [ -n "${CITADEL_SANITIZE_STAGES:-}" ]; then
  scripts/sanitize.sh $CITADEL_SANITIZE_STAGES || hardening=1
fi
scripts/fuzz.sh "${CITADEL_FUZZ_SECONDS:-15}" || hardening=1
echo "== summary"; echo "test suite: ok"; cat "$CITADEL_SUMMARY_FILE"; rm -f "$CITADEL_SUMMARY_FILE"
((hardening == 0)) || exit 1
