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
