# Shared by the end-to-end benchmark scripts (bench/throughput/end_to_end.sh,
# bench/ocr_pages/end_to_end.sh): the host configuration of a throw-away
# tree, starting the real citadel on it, and sums of counters from its
# /metrics. Source it, set build, root, port and device, write
# $root/models.d/*.yaml, then call start_host; the caller's EXIT trap stops
# the host through $pid.

# $root/citadel.yaml: plugins from $build, HTTP on $port, the one $device.
write_host_config() {
  mkdir -p "$root/models.d" "$root/run"
  cat >"$root/citadel.yaml" <<YAML
admin: {socket: run/admin.sock}
plugins_dir: $build/plugins
models_dir: models.d
runtime_dir: run/runtime
http: {listen: "127.0.0.1:$port"}
devices: ["$device"]
gpu_memory_utilization: 0.3
cpu_cache_mb: 16384
YAML
}

# GET http://127.0.0.1:$port$1 to stdout.
host_get() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
    "http://127.0.0.1:$port$1"
}

# Starts citadel on $root/citadel.yaml (log in $root/host.log, pid in $pid)
# and waits until its admin socket answers and, when given, model $1 is
# listed by /v1/models; prints how long that took. Exits 1 with the log
# when the host stops first.
start_host() {
  local started
  started=$(date +%s.%N)
  "$build/host/citadel" --config "$root/citadel.yaml" >"$root/host.log" 2>&1 &
  pid=$!
  for _ in $(seq 1500); do
    if "$build/host/citadelctl" --socket "$root/run/admin.sock" status >/dev/null 2>&1; then
      [ -z "${1:-}" ] && break
      host_get /v1/models 2>/dev/null | grep -q "\"$1\"" && break
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$root/host.log"; exit 1; }
    sleep 0.2
  done
  python3 -c "import sys,time; print(f'host ready {time.time() - float(sys.argv[1]):.1f} s after start')" "$started"
}

# The sum over labels of each named metric in /metrics, in order, on one line.
metric_totals() {
  host_get /metrics | python3 -c '
import re, sys
text = sys.stdin.read()
print(*(sum(float(v) for v in re.findall(r"^" + name + r"(?:\{[^}]*\})? (\S+)$", text, re.M))
        for name in sys.argv[1:]))' "$@"
}

# Stops the host started by start_host and waits for it.
stop_host() {
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
}
