#!/usr/bin/env bash
# Replicas 1 against 2: the real citadel host serves one model with
# `replicas: 1`, then 2 (`device: auto`: one replica per device), and
# bench_throughput (offline: every request at once) prints the figures of
# each. The two devices are two logical devices on one physical device
# (docs/operations.md "Logical devices": `{name: D/a, device: D}`, `D/b`) or
# two physical GPUs (PHYSICAL given as a list). Prints figures only; never
# passes or fails on time.
# Usage: bench/replicas/replicas_bench.sh BUILD_DIR [echo|llama3-8b|WEIGHTS_DIR] [PHYSICAL]
#   echo (default): the echo test plugin with a 5 ms step (build-test's test-plugins);
#   llama3-8b: llm-gptq on random weights of the Llama-3-8B shape (load_format: dummy);
#   WEIGHTS_DIR: llm-gptq with those weights (e.g. tests/data/llm/llama3-gptq).
#   PHYSICAL: cpu (default) or cuda:0 (two logical devices on it), or
#   cuda:0,cuda:1 (the two GPUs, one pool each).
# CITADEL_BENCH_PROMPTS (default 64) requests of about CITADEL_BENCH_INPUT
# (32) prompt and CITADEL_BENCH_OUTPUT (32) output tokens; each device's pool
# CITADEL_BENCH_POOL_MB (512; the 8B shape's cache takes 12 GB of it).
set -euo pipefail
build=$(realpath "${1:?usage: bench/replicas/replicas_bench.sh BUILD_DIR [echo|llama3-8b|WEIGHTS_DIR] [PHYSICAL]}")
what=${2:-echo}
physical=${3:-cpu}
prompts=${CITADEL_BENCH_PROMPTS:-64}
input=${CITADEL_BENCH_INPUT:-32}
output=${CITADEL_BENCH_OUTPUT:-32}
pool_mb=${CITADEL_BENCH_POOL_MB:-512}
port=18093
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/bench/common/dummy_llama.sh"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/models.d" "$root/run" "$root/plugins/echo"
if [ "$what" = echo ]; then
  cp "$build/test-plugins/echo-v1/echo-v1.so" "$root/plugins/echo/echo.so"
  printf 'name: echo\nversion: "1"\ndefaults: {cache: {size_mb: 64}}\n' >"$root/plugins/echo/plugin.yaml"
  plugins_dir=$root/plugins
  model_lines='plugin: echo
options: {step_delay_ms: 5, max_batch_requests: 8}'
elif [ "$what" = llama3-8b ]; then
  write_dummy_llama "$root/model" llama3-8b
  plugins_dir=$build/plugins
  model_lines="plugin: llm-gptq
weights: $root/model
cache: {size_mb: 12288}
scheduler: {max_queue: 4096, max_batch_requests: 64, max_step_tokens: 4096}
options: {load_format: dummy, max_batch_requests: 64, max_step_tokens: 4096}"
else
  plugins_dir=$build/plugins
  model_lines="plugin: llm-gptq
weights: $(realpath "$what")
cache: {size_mb: 128}"
fi
if [[ "$physical" == *,* ]]; then
  IFS=, read -r -a names <<<"$physical"
  device_lines=$(for d in "${names[@]}"; do echo "  - {name: $d, device: $d, pool_mb: $pool_mb}"; done)
else
  names=("$physical/a" "$physical/b")
  device_lines="  - {name: $physical/a, device: $physical, pool_mb: $pool_mb}
  - {name: $physical/b, device: $physical, pool_mb: $pool_mb}"
fi
cat >"$root/citadel.yaml" <<YAML
admin: {socket: run/admin.sock}
plugins_dir: $plugins_dir
models_dir: models.d
runtime_dir: run/runtime
http: {listen: "127.0.0.1:$port"}
cpu_cache_mb: 64
devices:
$device_lines
YAML
for replicas in 1 2; do
  printf 'name: bench\ndevice: auto\nreplicas: %s\n%s\n' "$replicas" "$model_lines" >"$root/models.d/bench.yaml"
  "$build/host/citadel" --config "$root/citadel.yaml" >"$root/host-$replicas.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do "$build/host/citadelctl" --socket "$root/run/admin.sock" status >/dev/null 2>&1 && break; sleep 0.2; done
  # Until every replica serves (a model's load may take a while on a GPU).
  for _ in $(seq 600); do
    "$build/host/citadelctl" --socket "$root/run/admin.sock" --json models 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["replicas"]; sys.exit(0 if r and all(x["state"]=="serving" for x in r) else 1)' \
      2>/dev/null && break
    sleep 0.5
  done
  echo "== replicas: $replicas on ${names[*]} ($what)"
  "$build/host/citadelctl" --socket "$root/run/admin.sock" --json models |
    python3 -c 'import json,sys; print("placed:", [(r["replica"], r["device"]) for r in json.load(sys.stdin)["replicas"]])'
  "$build/bench/throughput/bench_throughput" --port "$port" --model bench --num-prompts "$prompts" \
    --mean-input-len "$input" --mean-output-len "$output" --max-input-len $((2 * input)) --max-output-len $((2 * output))
  "$build/host/citadelctl" --socket "$root/run/admin.sock" --json models |
    python3 -c 'import json,sys; print("routed:", [(r["device"], r["routed"]) for r in json.load(sys.stdin)["replicas"]])'
  kill -TERM "$pid"; wait "$pid" || true
done
