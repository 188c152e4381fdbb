#!/usr/bin/env bash
# Checks to run on a machine with an NVIDIA GPU, from the repository root,
# against a CUDA build (see docs/operations.md, "GPU builds"):
#   1. every [cuda]-tagged test (cache pool VMM backend, CUDA kernels against
#      the CPU kernels, the llm-gptq CUDA forward pass against references);
#   2. end to end: the real citadel host serving the same GPTQ test model on
#      the CPU and on cuda:0 at once; greedy completions through the admin
#      socket and over HTTP must be identical on both devices;
#   3. two logical devices on cuda:0 (scripts/gpu-logical-devices.sh): one
#      replica on each, a burst served by both, both pools in use.
# Usage: scripts/gpu-checks.sh BUILD_DIR [OUT_DIR]
# CITADEL_GPU_CHECK_MODEL: the weights served in step 2 (default: the GPTQ
# test model tests/data/llm/llama3-gptq; a .gguf file works too).
set -uo pipefail
build=$(realpath "${1:?usage: scripts/gpu-checks.sh BUILD_DIR [OUT_DIR]}")
out=${2:-$(mktemp -d)}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:$build/lib:${LD_LIBRARY_PATH:-}
status=0

echo "== [cuda] tests"
if [ -x "$build/tests/citadel-tests" ]; then
  "$build/tests/citadel-tests" "[cuda]" 2>&1 | tee "$out/cuda-tests.txt" | tail -n 4
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
  echo "skipped: $build/tests/citadel-tests not built"
fi

echo "== host on cpu and cuda:0"
root=$(mktemp -d)
mkdir -p "$root/models.d" "$root/run"
model=$(realpath "${CITADEL_GPU_CHECK_MODEL:-tests/data/llm/llama3-gptq}")
cat >"$root/citadel.yaml" <<YAML
admin: {socket: run/admin.sock}
plugins_dir: $build/plugins
models_dir: models.d
runtime_dir: run/runtime
http: {listen: "127.0.0.1:18080"}
devices: [cpu, "cuda:0"]
gpu_memory_utilization: 0.2
swap_space_gb: 1
cpu_cache_mb: 256
YAML
for device in cpu cuda:0; do
  name=llama-${device%%:*}
  printf 'name: %s\nplugin: llm-gptq\nweights: %s\ndevice: "%s"\ncache: {size_mb: 64}\n' \
    "$name" "$model" "$device" >"$root/models.d/$name.yaml"
done
"$build/host/citadel" --config "$root/citadel.yaml" >"$out/host.log" 2>&1 &
host_pid=$!
ctl() { "$build/host/citadelctl" --socket "$root/run/admin.sock" --json "$@"; }
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.2; done
ctl models | tee "$out/models.json"
ctl pool >"$out/pool.json"
input='{"prompt": "12345 + 678 = ", "max_tokens": 32, "temperature": 0}'
ctl infer llama-cpu "$input" | tee "$out/infer-cpu.json"
ctl infer llama-cuda "$input" | tee "$out/infer-cuda.json"
cpu_text=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$out/infer-cpu.json")
cuda_text=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$out/infer-cuda.json")
if [ -n "$cpu_text" ] && [ "$cpu_text" = "$cuda_text" ]; then
  echo "greedy text identical on cpu and cuda:0"
else
  echo "MISMATCH between cpu and cuda:0"; status=1
fi
for device in cpu cuda; do
  curl -s -m 60 localhost:18080/v1/chat/completions -H 'content-type: application/json' \
    -d "{\"model\":\"llama-$device\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16,\"temperature\":0}" \
    >"$out/chat-$device.json"
done
python3 - "$out" <<'PY' || status=1
import json, sys
out = sys.argv[1]
texts = [json.load(open(f"{out}/chat-{d}.json"))["choices"][0]["message"]["content"] for d in ("cpu", "cuda")]
print("chat:", texts)
sys.exit(0 if texts[0] == texts[1] else 1)
PY
curl -s localhost:18080/metrics >"$out/metrics.txt"
kill -TERM "$host_pid"
for _ in $(seq 100); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$host_pid" 2>/dev/null; then
  echo "host did not exit 20 s after SIGTERM"; kill -KILL "$host_pid"; status=1
fi
wait "$host_pid"; echo "host exit status $?"

echo "== two logical devices on cuda:0"
scripts/gpu-logical-devices.sh "$build" "$out" || status=1
echo "== gpu checks: $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
