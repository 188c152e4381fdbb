#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in
# build-fuzz/) and runs each one from its committed seed corpus for a fixed
# time. A crash, leak, sanitizer report, timeout or out-of-memory fails the
# script; the input that caused it is kept in build-fuzz/findings/<target>/
# (replay it with build-fuzz/tests/fuzz/fuzz_<target> <file>).
#
# Usage: scripts/fuzz.sh [seconds per target] [target...]
#   seconds: default $CITADEL_FUZZ_SECONDS or 15; targets: default all.
# Run by scripts/test.sh (CI) after the test suite, within the CI time budget
# (scripts/ci_budget.sh: a build that cannot finish in time, or a target
# with no time left to run, is reported as skipped); see tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci_budget.sh
seconds=${1:-${CITADEL_FUZZ_SECONDS:-15}}
shift $(($# > 0 ? 1 : 0))
build=${CITADEL_FUZZ_BUILD_DIR:-build-fuzz}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCITADEL_CUDA=OFF \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCITADEL_FUZZ=ON \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
  for corpus in tests/fuzz/corpus/*/; do targets+=("$(basename "$corpus")"); done
fi
# The runs' time is kept for them while building.
build_status=0
budget_build $((${#targets[@]} * (seconds + 5))) ninja -C "$build" citadel-fuzz || build_status=$?
if ((build_status == 124)); then
  line="fuzz: skipped (CI budget): the build did not finish in time (cold ccache?); its objects are cached for the next run"
  echo "$line"
  [[ -z "${CITADEL_SUMMARY_FILE:-}" ]] || echo "$line" >>"$CITADEL_SUMMARY_FILE"
  exit 0
fi
((build_status == 0)) || { echo "FUZZ: FAILED: the build failed"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Third-party leaks only, each explained in the file (fontconfig's caches,
# allocated when poppler first renders text: pdf_render).
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0:suppressions=$PWD/tests/sanitizers/lsan.supp}
summary=()
failed=0
for target in "${targets[@]}"; do
  if (($(budget_left) < seconds + 5)); then
    summary+=("fuzz $target: skipped (CI budget)")
    continue
  fi
  if [[ ! -x "$build/tests/fuzz/fuzz_$target" ]]; then
    # pdf_render exists only where the host reads PDFs (CITADEL_PDF=ON).
    summary+=("fuzz $target: skipped (not built in this configuration)")
    continue
  fi
  work="$build/corpus/$target" findings="$build/findings/$target" log="$build/logs/fuzz_$target.log"
  mkdir -p "$work" "$findings" "$(dirname "$log")"
  echo "== fuzz $target: ${seconds}s from tests/fuzz/corpus/$target"
  status=0
  # New inputs go to the working corpus in the build folder; the committed
  # seeds are only read.
  "$build/tests/fuzz/fuzz_$target" "$work" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
  if ((status != 0)); then
    failed=1
    tail -n 60 "$log"
    summary+=("fuzz $target: FAILED (exit $status; input in $findings/, log $log)")
  else
    summary+=("fuzz $target: ok, ${executions:-0} runs in ${seconds}s, ${coverage:-no coverage line}")
  fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
# scripts/test.sh prints every stage's lines again at its end.
[[ -z "${CITADEL_SUMMARY_FILE:-}" ]] || printf '%s\n' "${summary[@]}" >>"$CITADEL_SUMMARY_FILE"
if ((failed)); then
  echo "FUZZ: FAILED"
  exit 1
fi
echo "FUZZ: ok (${#targets[@]} targets, ${seconds}s each, no crash, leak or sanitizer report)"
