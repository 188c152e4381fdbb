#!/usr/bin/env bash
# Replicas 1 against 2 on two logical devices (docs/operations.md "Logical
# devices"): the real citadel host with `devices: [{name: D/a, device: D},
# {name: D/b, device: D}]` serves one model with `replicas: 1`, then 2
# (`device: auto`: one replica per logical device), and bench_throughput
# (offline: every request at once) prints the figures of each. Prints
# figures only; never passes or fails on time.
# Usage: bench/replicas/replicas_bench.sh BUILD_DIR [echo|WEIGHTS_DIR] [PHYSICAL_DEVICE]
#   echo (default): the echo test plugin with a 5 ms step (build-test's test-plugins);
#   WEIGHTS_DIR: llm-gptq with those weights (e.g. tests/data/llm/llama3-gptq).
#   PHYSICAL_DEVICE: cpu (default) or cuda:0.
# CITADEL_BENCH_PROMPTS (default 64) requests of about 32 prompt and 32 output tokens.
set -euo pipefail
build=$(realpath "${1:?usage: bench/replicas/replicas_bench.sh BUILD_DIR [echo|WEIGHTS_DIR] [PHYSICAL_DEVICE]}")
what=${2:-echo}
physical=${3:-cpu}
prompts=${CITADEL_BENCH_PROMPTS:-64}
port=18093
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/models.d" "$root/run" "$root/plugins/echo"
if [ "$what" = echo ]; then
  cp "$build/test-plugins/echo-v1/echo-v1.so" "$root/plugins/echo/echo.so"
  printf 'name: echo\nversion: "1"\ndefaults: {cache: {size_mb: 64}}\n' >"$root/plugins/echo/plugin.yaml"
  plugins_dir=$root/plugins
  model_lines='plugin: echo
options: {step_delay_ms: 5, max_batch_requests: 8}'
else
  plugins_dir=$build/plugins
  model_lines="plugin: llm-gptq
weights: $(realpath "$what")
cache: {size_mb: 128}"
fi
cat >"$root/citadel.yaml" <<YAML
admin: {socket: run/admin.sock}
plugins_dir: $plugins_dir
models_dir: models.d
runtime_dir: run/runtime
http: {listen: "127.0.0.1:$port"}
cpu_cache_mb: 64
devices:
  - {name: $physical/a, device: $physical, pool_mb: 512}
  - {name: $physical/b, device: $physical, pool_mb: 512}
YAML
for replicas in 1 2; do
  printf 'name: bench\ndevice: auto\nreplicas: %s\n%s\n' "$replicas" "$model_lines" >"$root/models.d/bench.yaml"
  "$build/host/citadel" --config "$root/citadel.yaml" >"$root/host-$replicas.log" 2>&1 &
  pid=$!
  for _ in $(seq 150); do "$build/host/citadelctl" --socket "$root/run/admin.sock" status >/dev/null 2>&1 && break; sleep 0.2; done
  echo "== replicas: $replicas on $physical/a, $physical/b ($what)"
  "$build/host/citadelctl" --socket "$root/run/admin.sock" --json models |
    python3 -c 'import json,sys; print("placed:", [(r["replica"], r["device"]) for r in json.load(sys.stdin)["replicas"]])'
  "$build/bench/throughput/bench_throughput" --port "$port" --model bench --num-prompts "$prompts" \
    --mean-input-len 32 --mean-output-len 32 --max-input-len 64 --max-output-len 64
  "$build/host/citadelctl" --socket "$root/run/admin.sock" --json models |
    python3 -c 'import json,sys; print("routed:", [(r["device"], r["routed"]) for r in json.load(sys.stdin)["replicas"]])'
  kill -TERM "$pid"; wait "$pid" || true
done
