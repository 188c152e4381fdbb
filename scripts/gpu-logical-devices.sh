#!/usr/bin/env bash
# Several devices on one GPU (called by scripts/gpu-checks.sh; runs alone too):
# the real citadel host with two logical devices on cuda:0, each with a pool
# of its own (`devices: [{name: cuda:0/a, device: cuda:0, pool_mb: 2048},
# ...]`), serving the GPTQ test model with `replicas: 2` and `device: auto`.
# Checks: one replica per logical device (auto: the freer pool, weights
# counted), the plugin created on cuda:0, a burst of concurrent greedy
# completions all equal and served by both replicas, both pools used
# (`citadelctl pool` page maps, /metrics per device).
# Usage: scripts/gpu-logical-devices.sh BUILD_DIR [OUT_DIR]   (exit 0: passed)
# CITADEL_LOGICAL_PHYSICAL=cpu runs the same on two logical CPU devices (a
# check of this script on a machine without a GPU; weights are not counted there).
set -uo pipefail
build=$(realpath "${1:?usage: scripts/gpu-logical-devices.sh BUILD_DIR [OUT_DIR]}")
out=${2:-$(mktemp -d)}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:$build/lib:${LD_LIBRARY_PATH:-}
physical=${CITADEL_LOGICAL_PHYSICAL:-cuda:0}
model=$(realpath "${CITADEL_GPU_CHECK_MODEL:-tests/data/llm/llama3-gptq}")
root=$(mktemp -d)
mkdir -p "$root/models.d" "$root/run"
cat >"$root/citadel.yaml" <<YAML
admin: {socket: run/admin.sock}
plugins_dir: $build/plugins
models_dir: models.d
runtime_dir: run/runtime
http: {listen: "127.0.0.1:18081"}
devices:
  - {name: $physical/a, device: $physical, pool_mb: 2048}
  - {name: $physical/b, device: $physical, pool_mb: 2048}
cpu_cache_mb: 64
YAML
printf 'name: llama\nplugin: llm-gptq\nweights: %s\ndevice: auto\nreplicas: 2\ncache: {size_mb: 256}\n' \
  "$model" >"$root/models.d/llama.yaml"
"$build/host/citadel" --config "$root/citadel.yaml" >"$out/logical-host.log" 2>&1 &
host_pid=$!
ctl() { "$build/host/citadelctl" --socket "$root/run/admin.sock" --json "$@"; }
for _ in $(seq 150); do ctl status >/dev/null 2>&1 && break; sleep 0.2; done
ctl models >"$out/logical-models.json"
python3 - "$out" 18081 <<'PY'
import json, sys, threading, urllib.request
out, port = sys.argv[1], sys.argv[2]
texts, errors = [], []
def complete(i):
    body = json.dumps({"model": "llama", "prompt": "12345 + 678 = ", "max_tokens": 24, "temperature": 0}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", body, {"content-type": "application/json"})
    try:
        texts.append(json.load(urllib.request.urlopen(request, timeout=120))["choices"][0]["text"])
    except Exception as error:  # reported below
        errors.append(repr(error))
threads = [threading.Thread(target=complete, args=(i,)) for i in range(16)]
[t.start() for t in threads]; [t.join() for t in threads]
json.dump({"texts": texts, "errors": errors}, open(f"{out}/logical-burst.json", "w"))
PY
ctl models >"$out/logical-models-after.json"
ctl pool >"$out/logical-pool.json"
curl -s localhost:18081/metrics >"$out/logical-metrics.txt"
kill -TERM "$host_pid"
for _ in $(seq 100); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$host_pid" 2>/dev/null && kill -KILL "$host_pid"
wait "$host_pid"
python3 - "$out" "$physical" <<'PY'
import json, re, sys
out, physical = sys.argv[1], sys.argv[2]
names = (f"{physical}/a", f"{physical}/b")
problems = []
rows = {r["replica"]: r for r in json.load(open(f"{out}/logical-models-after.json"))["replicas"] if r["model"] == "llama"}
devices = sorted(r["device"] for r in rows.values())
if devices != list(names): problems.append(f"replica devices {devices}, expected {names}")
if any(r["routed"] == 0 for r in rows.values()): problems.append(f"a replica served nothing: {rows}")
burst = json.load(open(f"{out}/logical-burst.json"))
if burst["errors"] or len(set(burst["texts"])) != 1 or len(burst["texts"]) != 16:
    problems.append(f"burst: {len(burst['texts'])} answers, {len(set(burst['texts']))} distinct, errors {burst['errors'][:3]}")
pools = {p["device"]: p for p in json.load(open(f"{out}/logical-pool.json"))["pool"]["devices"]}
for name in names:
    pool = pools.get(name, {})
    weights_missing = physical != "cpu" and pool.get("weight_bytes", 0) == 0
    if pool.get("physical_device") != physical or pool.get("page_maps", 0) == 0 or weights_missing:
        problems.append(f"pool {name}: {json.dumps({k: pool.get(k) for k in ('physical_device', 'page_maps', 'weight_bytes')})}")
metrics = open(f"{out}/logical-metrics.txt").read()
for name in names:
    if not re.search(r'citadel_cache_page_maps_total\{device="%s"\} [1-9]' % re.escape(name), metrics):
        problems.append(f"/metrics: no page maps on {name}")
log = open(f"{out}/logical-host.log").read()
if log.count(f"on {physical} (generation 1)") < 2:
    problems.append(f"the log does not show both replicas created on {physical}")
print(f"logical devices on {physical}:", "passed" if not problems else "FAILED")
for problem in problems: print("  ", problem)
sys.exit(1 if problems else 0)
PY
