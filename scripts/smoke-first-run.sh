#!/usr/bin/env bash
# Smoke test of the README's first command (scripts/run.sh) on a clean copy of
# this checkout (its tracked and untracked-but-not-ignored files: what a fresh
# clone with these edits holds; no build/, no models/): build, default model
# setup, start; waits for /ready, asks /v1/chat/completions one question and
# needs a non-empty answer, then SIGTERM and a clean exit (status 0); the
# host must log no warning or error before it is ready. The
# only change to the shipped files is HTTP on a free port (listen
# 127.0.0.1:0), so a host already on :8080 does not matter. Bounded in time;
# the host is killed on any failure. Prints the time of each phase.
# Registered with CTest as `smoke-first-run` (label smoke), so scripts/test.sh
# and .ci/run run it.
# Usage: scripts/smoke-first-run.sh [SOURCE_DIR]
# Environment: CITADEL_SMOKE_TIMEOUT_S (whole run, default 1500),
# CITADEL_BUILD_TYPE (passed to run.sh), CITADEL_SMOKE_KEEP=1 keeps the copy.
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
limit=${CITADEL_SMOKE_TIMEOUT_S:-1500}
work=$(mktemp -d "${TMPDIR:-/tmp}/citadel-smoke.XXXXXX")
clone=$work/clone
log=$work/run.log
host_pid=""
now_ms() { echo $(($(date +%s%N) / 1000000)); }
start_ms=$(now_ms)
seconds() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
elapsed() { seconds $(($(now_ms) - start_ms)); }
finish() {
  local status=$?
  if [ -n "$host_pid" ] && kill -0 "$host_pid" 2>/dev/null; then
    kill -KILL "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "smoke: FAILED after $(elapsed) s; the last lines of the run:"
    if grep -q "No space left on device" "$log" 2>/dev/null; then
      echo "smoke: the disk is full ($(df -Pm "$work" | awk 'NR == 2 {print $4}') MB free where the copy builds)"
    fi
    tail -n 40 "$log" 2>/dev/null || true
  fi
  if [ "${CITADEL_SMOKE_KEEP:-0}" = 1 ]; then echo "smoke: kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap finish EXIT
fail() { echo "smoke: $*"; exit 1; }
over_time() { (($(now_ms) - start_ms > limit * 1000)); }

# 1. A clean copy.
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || fail "$src is not a git checkout"
mkdir -p "$clone"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
   tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$clone"
sed 's/^\(  listen: \)127\.0\.0\.1:8080/\1127.0.0.1:0/' "$clone/config/citadel.yaml" \
  >"$clone/config/citadel.smoke.yaml"
grep -q '^  listen: 127.0.0.1:0' "$clone/config/citadel.smoke.yaml" ||
  fail "config/citadel.yaml has no 'listen: 127.0.0.1:8080' line to move to a free port"
echo "smoke: clean copy in $clone ($(elapsed) s)"

# 2. The first command, in the background (run.sh execs citadel: same pid).
(cd "$clone" && CITADEL_CONFIG=config/citadel.smoke.yaml exec bash scripts/run.sh) >"$log" 2>&1 &
host_pid=$!
socket=$clone/run/citadel.sock
ctl=$clone/build/host/citadelctl
built_at="" port=""
while [ -z "$port" ]; do
  kill -0 "$host_pid" 2>/dev/null || { wait "$host_pid" || true; fail "run.sh ended before the host was ready"; }
  over_time && fail "not ready within $limit s"
  if [ -z "$built_at" ] && grep -q "^run.sh: starting citadel" "$log"; then
    built_at=$(now_ms)
    echo "smoke: built and set up after $(elapsed) s"
  fi
  if [ -n "$built_at" ] && [ -S "$socket" ]; then
    port=$("$ctl" --socket "$socket" --json status 2>/dev/null | python3 -c '
import json, sys
status = json.load(sys.stdin).get("status", {})
print(status.get("http_port", "") if status.get("ready") else "")' 2>/dev/null || true)
  fi
  [ -n "$port" ] || sleep 0.5
done
ready_at=$(now_ms)
curl -sf -m 10 "http://127.0.0.1:$port/ready" >/dev/null || fail "/ready did not answer 200"
# A clean first run: nothing the operator must act on (e.g. no warning about
# the manifests of plugins run.sh does not build).
if grep -E '\[(warning|error|critical)\]' "$log"; then fail "the first run logged the warnings above"; fi
echo "smoke: ready on port $port after $(elapsed) s (host start to ready $(seconds $((ready_at - built_at))) s)"

# 3. One chat answer.
answer=$work/chat.json
curl -sS -m 300 "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"smollm2","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":24,"temperature":0}' \
  -o "$answer" || fail "the chat request failed"
text=$(python3 -c '
import json, sys
body = json.load(open(sys.argv[1]))
print(body["choices"][0]["message"]["content"].strip())' "$answer" 2>/dev/null) ||
  fail "no chat answer in: $(head -c 600 "$answer")"
[ -n "$text" ] || fail "empty chat answer: $(head -c 600 "$answer")"
echo "smoke: first answer after $(elapsed) s: $text"

# 4. A clean stop.
kill -TERM "$host_pid"
for _ in $(seq 300); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$host_pid" 2>/dev/null && fail "the host did not exit within 30 s of SIGTERM"
status=0
wait "$host_pid" || status=$?
host_pid=""
[ "$status" -eq 0 ] || fail "the host exited with status $status after SIGTERM"
echo "smoke: passed in $(elapsed) s (clean exit after SIGTERM)"
