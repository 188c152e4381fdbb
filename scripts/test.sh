#!/usr/bin/env bash
# Builds Citadel (CPU backends: the lean build CI uses) and runs the whole test
# suite through CTest: citadel-tests and the first-run smoke (label smoke,
# scripts/smoke-first-run.sh); then the fuzz targets and the sanitized suites
# within a time budget (see the end). The README's test command; .ci/run runs exactly
# this. ccache hashes paths relative to the checkout, so the smoke's build of
# a clean copy finds every object this build made.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CITADEL_TEST_BUILD_DIR:-build-test}
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
# The CI budget of the hardening stages (scripts/ci_budget.sh), from here.
export CITADEL_CI_DEADLINE=${CITADEL_CI_DEADLINE:-$(($(date +%s) + ${CITADEL_CI_BUDGET_S:-1680}))}

# The free disk where the builds and the smoke's clean copy go: a full CI
# disk shows up as compiler errors far from here, so say it first. A whole
# run with cold caches takes about 4 GB (build-test 2.4 GB, the smoke's
# copy, the sanitizer and fuzz builds, ccache).
for place in . "${TMPDIR:-/tmp}"; do
  free_mb=$(df -Pm "$place" | awk 'NR == 2 {print $4}')
  echo "test.sh: ${free_mb} MB free on $(df -P "$place" | awk 'NR == 2 {print $6}') ($place)"
  ((free_mb >= 4096)) || echo "test.sh: warning: less than 4 GB free; builds may fail with 'No space left on device'"
done

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

# --- Fuzzing and sanitizers (scripts/fuzz.sh, scripts/sanitize.sh) ---------
# After the suite, within the CI budget (scripts/ci_budget.sh: the whole run
# under 30 minutes on 2 cores): each fuzz target for 15 s from its seed
# corpus; ASan + UBSan + LSan over the whole suite; TSan over the threaded
# parts. Cheapest first, so a cold ccache skips the costliest. Every finding
# fails the run; a stage skipped for time says so in the summary.
# CITADEL_SANITIZE_STAGES picks the sanitizer stages ("asan tsan" by
# default, "" for none).
export CITADEL_SUMMARY_FILE=$(mktemp)
hardening=0
scripts/fuzz.sh "${CITADEL_FUZZ_SECONDS:-15}" || hardening=1
stages=${CITADEL_SANITIZE_STAGES-asan tsan}
if [ -n "$stages" ]; then
  scripts/sanitize.sh $stages || hardening=1
fi
echo "== summary ($((SECONDS / 60)) min $((SECONDS % 60)) s)"; echo "test suite: ok"; cat "$CITADEL_SUMMARY_FILE"; rm -f "$CITADEL_SUMMARY_FILE"
((hardening == 0)) || exit 1
