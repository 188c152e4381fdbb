# CI time budget, sourced by scripts/sanitize.sh and scripts/fuzz.sh.
# .ci/run (or else scripts/test.sh) sets CITADEL_CI_DEADLINE (epoch seconds:
# its start + CITADEL_CI_BUDGET_S, default 1680 s = 28 min) so that the
# hardening stages after the test suite (fuzzing, ASan + UBSan, TSan) keep
# the whole of CI under 30 minutes on 2 cores. With a warm ccache every stage
# fits; with a cold one a stage whose build cannot finish in time is reported
# "skipped (CI budget)" and its finished objects stay in ccache for the next
# run. A stage never skips after its tests started: they get what is left of
# the budget, at least the stage's reserve, and a run that overruns that
# fails (it may be a hang). Without CITADEL_CI_DEADLINE (fuzz.sh
# or sanitize.sh run by hand) there is no budget.

# Seconds left before the deadline (a large number without one).
budget_left() {
  if [[ -z "${CITADEL_CI_DEADLINE:-}" ]]; then echo 1000000; return; fi
  local left=$((CITADEL_CI_DEADLINE - $(date +%s)))
  ((left > 0)) || left=0
  echo "$left"
}

# budget_build RESERVE COMMAND...: runs a build with the time left minus
# RESERVE seconds (kept for the stage's run). Returns 0 when it finished,
# 124 when the budget ran out (before or during the build), else its status.
budget_build() {
  local reserve=$1 left
  shift
  left=$(($(budget_left) - reserve))
  ((left > 30)) || return 124
  local status=0
  timeout --kill-after=10 "$left" "$@" || status=$?
  ((status == 137)) && status=124
  return "$status"
}
