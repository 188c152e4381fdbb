#!/usr/bin/env bash
# End to end through the host (issue 9): the real citadel serving llm-gptq
# with random weights (`load_format: dummy`) of a real shape, driven by
# bench_throughput over HTTP. Two loads:
#   1. offline: CITADEL_E2E_PROMPTS (1000) requests at once, prompts of 128-512
#      words (lognormal, mean 300, clamped) and 128-256 output tokens (mean 192);
#   2. decode: CITADEL_E2E_BATCH (64) requests at once, 16-token prompts and
#      256 output tokens each, so that the steps are decode steps of that batch,
#      to set beside bench_llm_decode --cuda at the same batch (printed after).
# Prints figures and the host's step statistics; never passes or fails on time.
# Usage: bench/throughput/end_to_end.sh BUILD_DIR [llama3-8b|tiny] [DEVICE]
#   llama3-8b (default): the Llama-3-8B shape, GPTQ int4 g128 (vocabulary
#   128256; the tokenizer is the tiny test model's, so generated ids past its
#   902 entries carry no text); tiny: tests/data/llm/llama3-gptq's shape.
#   DEVICE: cuda:0 (default) or cpu.
set -euo pipefail
build=$(realpath "${1:?usage: bench/throughput/end_to_end.sh BUILD_DIR [llama3-8b|tiny] [DEVICE]}")
shape=${2:-llama3-8b}
device=${3:-cuda:0}
prompts=${CITADEL_E2E_PROMPTS:-1000}
batch=${CITADEL_E2E_BATCH:-64}
port=${CITADEL_E2E_PORT:-18095}
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/bench/common/serve_host.sh"
source "$repo/bench/common/dummy_llama.sh"
root=$(mktemp -d)
# (pid is empty once the host has stopped: "kill 0" would signal this whole
# process group, the caller's shell included.)
trap '[ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$root"' EXIT
write_dummy_llama "$root/model" "$shape"
write_host_config
cache_mb=$([ "$shape" = tiny ] && echo 256 || echo 12288)
cat >"$root/models.d/bench.yaml" <<YAML
name: bench
plugin: llm-gptq
weights: $root/model
device: "$device"
cache: {size_mb: $cache_mb}
scheduler: {max_queue: 4096, max_batch_requests: $batch, max_step_tokens: 4096}
options: {load_format: dummy, max_batch_requests: $batch, max_step_tokens: 4096}
YAML
start_host
grep -E "llm-gptq: loaded" "$root/host.log" | sed 's/.*llm-gptq:/llm-gptq:/'
# Step count and seconds from /metrics: the host's steps, and llm-gptq's
# share of them (its forward pass with the copy of its results, then
# sampling and detokenizing).
steps() {
  metric_totals citadel_step_duration_seconds_count citadel_step_duration_seconds_sum \
    citadel_plugin_forward_seconds_total citadel_plugin_sampling_seconds_total
}
run_load() {
  local label=$1; shift
  read -r -a before < <(steps)
  echo "== $label"
  "$build/bench/throughput/bench_throughput" --port "$port" --model bench "$@"
  read -r -a after < <(steps)
  python3 - "${before[@]}" "${after[@]}" <<'PY'
import sys
b, a = [float(v) for v in sys.argv[1:5]], [float(v) for v in sys.argv[5:9]]
count, step, forward, sampling = (a[i] - b[i] for i in range(4))
per = lambda seconds: 1000 * seconds / max(count, 1)
print(f"host steps: {count:.0f}, mean {per(step):.3f} ms/step, {step:.2f} s in steps")
print(f"  of a step: forward pass and copy {per(forward):.3f} ms, sampling {per(sampling):.3f} ms, "
      f"the rest of the step {per(step - forward - sampling):.3f} ms")
PY
}
run_load "offline: $prompts prompts of 128-512 tokens, 128-256 output tokens" --num-prompts "$prompts" \
  --mean-input-len 300 --max-input-len 512 --mean-output-len 192 --max-output-len 256 --min-len 128
run_load "decode: $batch requests at once, 16-token prompts, 256 output tokens" --num-prompts "$batch" \
  --mean-input-len 16 --max-input-len 16 --mean-output-len 256 --max-output-len 256
stop_host
