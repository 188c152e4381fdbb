#!/usr/bin/env bash
# Builds the test executable, the host binaries and the plugins the tests
# load under sanitizers (GCC, -O1, ccache, no benchmarks) and runs the tests
# there:
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer, the
#         whole suite (but [cuda]), in build-asan/;
#   tsan: ThreadSanitizer, the threaded parts (scheduler, cache pool, admin,
#         HTTP, plugin registry, reload and lifecycle integration, the
#         tensor-parallel ranks' threads and their all-reduce), in
#         build-tsan/, which compiles only those test folders and files
#         (CITADEL_TEST_DIRS).
# Every process the tests start (citadel, citadelctl) runs sanitized too and
# writes its reports to <build>/sanitizer-logs/; any report, or a failing
# test, fails the stage. Suppressions (third-party code only, each explained)
# are in tests/sanitizers/.
#
# Usage: scripts/sanitize.sh [asan|tsan]...   (default: asan tsan)
# Run by scripts/test.sh (CI) after the test suite, within the CI time budget
# (scripts/ci_budget.sh): a build that cannot finish in the time left is
# reported as skipped, not failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci_budget.sh
stages=("$@")
((${#stages[@]})) || stages=(asan tsan)

# The Catch2 tags of the threaded parts run under TSan, and the test folders
# and files that hold them (the only ones the TSan build compiles). The vista test that
# rolls a window over a 109-frame video is left out ([long-video]): its CPU
# compute takes 100-175 s under TSan on two cores, too long for the CI
# budget; it runs in the normal and ASan builds, and the other vista serving
# tests run here.
tsan_tests="[sched],[cache],[admin],[http],[plugins],[integration],[tensor_parallel],[all_reduce],[thread_pool]~[long-video]"
tsan_dirs="sched;cache;admin;http;plugins_registry;integration;llm/tensor_parallel_test.cpp;llm/tensor_shards_test.cpp;runtime/thread_all_reduce_test.cpp;runtime/core_test.cpp"
# Seconds each stage keeps for its test run when the CI budget is short.
declare -A run_reserve=([asan]=420 [tsan]=480)

summary=()
failed=0

# Seconds a stage's test run may take: what is left of the CI budget, but at
# least the stage's reserve (its build only started with that much left).
run_limit() {
  local left reserve=${run_reserve[$1]}
  left=$(budget_left)
  echo $((left > reserve ? left : reserve))
}

# The test cases (and sections) with a failed assertion in a Catch2 console
# log, with the place of their first failure, one per line (at most 12): the
# summary comes last in CI's output, so it names what failed.
failed_cases() {
  awk -v rule="$(printf -- '-%.0s' {1..79})" '
    $0 == rule { if (in_header) in_header = 0; else { in_header = 1; name = "" } next }
    in_header { sub(/^ +/, ""); name = name == "" ? $0 : name " / " $0; next }
    /: FAILED:$/ && !(name in seen) { seen[name] = 1; sub(/: FAILED:$/, ""); print "  failed: " name " (" $0 ")" }
  ' "$1" | head -n 12
}

# ":suppressions=FILE" when tests/sanitizers/<tool>.supp exists.
suppressions() {
  if [[ -f "tests/sanitizers/$1.supp" ]]; then echo ":suppressions=$PWD/tests/sanitizers/$1.supp"; fi
}

run_stage() {
  local stage=$1 sanitizers build tests dirs=""
  case "$stage" in
    asan) sanitizers=address,undefined build=${CITADEL_ASAN_BUILD_DIR:-build-asan} tests="~[cuda]" ;;
    tsan) sanitizers=thread build=${CITADEL_TSAN_BUILD_DIR:-build-tsan} tests="$tsan_tests" dirs=$tsan_dirs ;;
    *) echo "unknown stage: $stage (asan or tsan)" >&2; exit 2 ;;
  esac
  echo "== $stage: building in $build (-fsanitize=$sanitizers, $(budget_left) s of CI budget left)"
  # -O1 -g1: sanitized code fast enough for the whole suite, line numbers in reports.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCITADEL_CUDA=OFF \
        -DCITADEL_BUILD_BENCH=OFF -DCITADEL_SANITIZE="$sanitizers" -DCITADEL_TEST_DIRS="$dirs" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
  local built=$SECONDS build_status=0
  budget_build "${run_reserve[$stage]}" ninja -C "$build" citadel-tests || build_status=$?
  if ((build_status == 124)); then
    summary+=("$stage: skipped (CI budget): the build did not finish in time (cold ccache?); its objects are cached for the next run")
    return
  elif ((build_status != 0)); then
    failed=1
    summary+=("$stage: FAILED: the build failed (exit $build_status)")
    return
  fi
  local build_seconds=$((SECONDS - built))

  local logs="$build/sanitizer-logs"
  rm -rf "$logs" && mkdir -p "$logs"
  local common="halt_on_error=1:print_stacktrace=1:log_path=$PWD/$logs/$stage"
  local status=0 started=$SECONDS
  echo "== $stage: citadel-tests \"$tests\""
  ASAN_OPTIONS="$common:detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1" \
  LSAN_OPTIONS="print_suppressions=0$(suppressions lsan)" \
  UBSAN_OPTIONS="$common$(suppressions ubsan)" \
  TSAN_OPTIONS="$common:second_deadlock_stack=1$(suppressions tsan)" \
      timeout --kill-after=10 "$(run_limit "$stage")" \
      "$build/tests/citadel-tests" "$tests" --order rand --warn NoAssertions 2>&1 | tee "$build/tests-output.log" \
      || status=${PIPESTATUS[0]}
  local reports
  reports=$(find "$logs" -type f | sort)
  if [[ -n "$reports" ]]; then
    for report in $reports; do echo "--- $report"; cat "$report"; done
    failed=1
    summary+=("$stage: FAILED: $(echo "$reports" | wc -l) sanitizer report(s) in $logs/ (tests exit $status)")
  elif ((status == 124 || status == 137)); then
    failed=1
    summary+=("$stage: FAILED: citadel-tests still running at its time limit ($(run_limit "$stage") s left; a hang?)")
  elif ((status != 0)); then
    failed=1
    # A report the runtime wrote to stderr instead of log_path (UBSan does so
    # for some checks) is named here, so the summary says what failed.
    local first_report
    first_report=$(grep -m1 -E "runtime error:|ERROR: (Address|Leak|Thread)Sanitizer" "$build/tests-output.log" || true)
    summary+=("$stage: FAILED: citadel-tests exited $status${first_report:+: $first_report}")
    local failed_case
    while IFS= read -r failed_case; do summary+=("$failed_case"); done < <(failed_cases "$build/tests-output.log")
  else
    summary+=("$stage: ok, citadel-tests \"$tests\" clean under -fsanitize=$sanitizers (build ${build_seconds}s, tests $((SECONDS - started))s)")
  fi
}

for stage in "${stages[@]}"; do run_stage "$stage"; done
echo "== sanitizer summary"
printf '%s\n' "${summary[@]}"
# scripts/test.sh prints every stage's lines again at its end.
[[ -z "${CITADEL_SUMMARY_FILE:-}" ]] || printf '%s\n' "${summary[@]}" >>"$CITADEL_SUMMARY_FILE"
if ((failed)); then
  echo "SANITIZERS: FAILED"
  exit 1
fi
echo "SANITIZERS: ok (${stages[*]})"
