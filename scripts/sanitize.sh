#!/usr/bin/env bash
# Builds the test executable, the host binaries and the test plugins under
# sanitizers (GCC) and runs the tests there:
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer, the
#         whole suite (but [cuda]), in build-asan/;
#   tsan: ThreadSanitizer, the threaded parts (scheduler, cache pool, admin,
#         HTTP, plugin instances, reload and lifecycle integration), in build-tsan/.
# Every process the tests start (citadel, citadelctl) runs sanitized too and
# writes its reports to <build>/sanitizer-logs/; any report, or a failing
# test, fails the stage.
#
# Usage: scripts/sanitize.sh [asan|tsan]...   (default: asan tsan)
# Run by scripts/test.sh (CI) after the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
((${#stages[@]})) || stages=(asan tsan)

# The Catch2 tags of the threaded parts run under TSan.
tsan_tests="[sched],[cache],[admin],[http],[plugins],[integration]"

summary=()
failed=0

run_stage() {
  local stage=$1 sanitizers build tests
  case "$stage" in
    asan) sanitizers=address,undefined build=${CITADEL_ASAN_BUILD_DIR:-build-asan} tests="~[cuda]" ;;
    tsan) sanitizers=thread build=${CITADEL_TSAN_BUILD_DIR:-build-tsan} tests="$tsan_tests" ;;
    *) echo "unknown stage: $stage (asan or tsan)" >&2; exit 2 ;;
  esac
  echo "== $stage: building in $build (-fsanitize=$sanitizers)"
  # -O1: sanitized code that is still fast enough for the whole suite.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCITADEL_CUDA=OFF \
        -DCITADEL_BUILD_BENCH=OFF -DCITADEL_SANITIZE="$sanitizers" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
  ninja -C "$build" citadel-tests

  local logs="$build/sanitizer-logs"
  rm -rf "$logs" && mkdir -p "$logs"
  local common="halt_on_error=1:print_stacktrace=1:log_path=$PWD/$logs/$stage"
  local status=0 started=$SECONDS
  echo "== $stage: citadel-tests \"$tests\""
  ASAN_OPTIONS="$common:detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1" \
  LSAN_OPTIONS="print_suppressions=0" \
  UBSAN_OPTIONS="$common" \
  TSAN_OPTIONS="$common:second_deadlock_stack=1" \
      "$build/tests/citadel-tests" "$tests" --order rand --warn NoAssertions || status=$?
  local reports
  reports=$(find "$logs" -type f | sort)
  if [[ -n "$reports" ]]; then
    for report in $reports; do echo "--- $report"; cat "$report"; done
    failed=1
    summary+=("$stage: FAILED: $(echo "$reports" | wc -l) sanitizer report(s) in $logs/ (tests exit $status)")
  elif ((status != 0)); then
    failed=1
    summary+=("$stage: FAILED: citadel-tests exited $status")
  else
    summary+=("$stage: ok, citadel-tests \"$tests\" clean under -fsanitize=$sanitizers ($((SECONDS - started))s)")
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
