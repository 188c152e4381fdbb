#!/usr/bin/env python3
"""Soak benchmark: the real citadel binary under mixed load while it reloads.

Three models (two llm-gptq on the tiny test checkpoints of tests/data/llm, one
echo test plugin), CLIENTS concurrent clients mixing streamed and plain
completions, cancellations (a stream closed after its first chunk) and
disconnects (a request sent, the socket closed at once), while the models.d
files are edited and the echo plugin's .so is replaced (renamed over) and the
host reloaded RELOADS times. Prints requests served, refused by design
(429/503), failed (anything else), latency p50/p99 during and outside
reloads, pool bytes in use and RSS at the start and the end.

Standard library only. Needs a build tree with host/citadel,
plugins/llm-gptq and test-plugins/echo-v1, echo-v2:
    python3 bench/soak/soak.py --build-dir build-test [--clients 64]
        [--reloads 100] [--duration 60] [--llm-plugin FOLDER]
Prints figures; never passes or fails on time.
"""
import argparse
import http.client
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import host_memory

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "support"))
import citadel_admin  # noqa: E402  pylint: disable=wrong-import-position
LLM_MODELS = {"gptq-qwen2": "qwen2-gptq", "gptq-llama3": "llama3-gptq"}
PROMPTS = ["The quick brown fox", "Once upon a time", "In a galaxy far away", "abc abc abc"]


class Host:
    def __init__(self, build_dir, root, llm_plugin, env=None):
        self.build_dir, self.root = build_dir, root
        (root / "run").mkdir(parents=True)
        (root / "models.d").mkdir()
        (root / "citadel.yaml").write_text(
            "admin:\n  socket: run/admin.sock\nplugins_dir: plugins\nmodels_dir: models.d\n"
            "runtime_dir: run/runtime\nhttp:\n  listen: 127.0.0.1:0\n  max_tokens_limit: 512\n"
            "devices: [cpu]\ncpu_cache_mb: 256\nlog_level: warn\nshutdown_grace_s: 10\n")
        citadel_admin.install_plugin_folder(llm_plugin, root / "plugins", "llm-gptq")
        (root / "plugins" / "echo").mkdir()
        (root / "plugins" / "echo" / "plugin.yaml").write_text(
            "name: echo\nversion: \"1\"\nlibrary: echo.so\ndefaults:\n  cache:\n    size_mb: 32\n")
        self.install_echo("echo-v1")
        for name, folder in LLM_MODELS.items():
            self.write_model(name, "llm-gptq", SOURCE_DIR / "tests" / "data" / "llm" / folder, 256)
        self.write_model("echo", "echo", None, 256)
        self.log = open(root / "citadel.log", "wb")
        self.process = subprocess.Popen([str(build_dir / "host" / "citadel"), "--config",
                                         str(root / "citadel.yaml")], stdout=self.log,
                                        stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.port = self.wait_port()

    def install_echo(self, variant):
        staging = self.root / "plugins" / "echo" / "echo.so.new"
        shutil.copy(self.build_dir / "test-plugins" / variant / f"{variant}.so", staging)
        os.rename(staging, self.root / "plugins" / "echo" / "echo.so")

    def write_model(self, name, plugin, weights, max_queue):
        text = f"name: {name}\nplugin: {plugin}\ndevice: cpu\ncache: {{size_mb: 64}}\n"
        if weights:
            text += f"weights: {weights}\noptions: {{threads: 1}}\n"
        text += f"scheduler: {{max_queue: {max_queue}}}\n"
        path = self.root / "models.d" / f"{name}.yaml"
        (self.root / "models.d" / f"{name}.yaml.new").write_text(text)
        os.rename(self.root / "models.d" / f"{name}.yaml.new", path)

    def admin(self, command):
        return citadel_admin.admin_request(self.root / "run" / "admin.sock", command, timeout=300)

    def wait_port(self):
        try:
            return citadel_admin.wait_http_port(self.process, self.root / "run" / "admin.sock",
                                                self.root / "citadel.log", timeout=120, poll_s=0.1)
        except RuntimeError as error:
            raise SystemExit(str(error)) from None

    def pool_used(self):
        return sum(p["used_bytes"] for p in self.admin({"cmd": "status"})["status"]["pool"])

    def rss(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.latency = {"during": [], "outside": []}
        self.reload_windows = []  # (start, end) monotonic
        self.failures = []

    def count(self, key, detail=None):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            if key == "failed" and detail and len(self.failures) < 10:
                self.failures.append(detail)

    def during_reload(self, start, end):
        return any(s < end and start < e for s, e in self.reload_windows)


def one_request(port, model, results, rng):
    kind = rng.choices(["plain", "stream", "cancel", "disconnect"], [45, 35, 10, 10])[0]
    body = json.dumps({"model": model, "prompt": rng.choice(PROMPTS), "max_tokens": rng.randint(4, 24),
                       "stream": kind in ("stream", "cancel")})
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        if kind == "disconnect":
            connection.close()
            results.count("disconnected")
            return
        reply = connection.getresponse()
        if reply.status in (429, 503):
            reply.read()
            results.count("refused")
            return
        if reply.status != 200:
            results.count("failed", f"{model}: HTTP {reply.status} {reply.read()[:300]!r}")
            return
        if kind == "cancel":
            reply.readline()
            connection.close()
            results.count("cancelled")
            return
        text = reply.read().decode()
        if kind == "stream" and "data: [DONE]" not in text:
            results.count("failed", f"{model}: stream without [DONE]: {text[-300:]!r}")
            return
        if '"error"' in text:
            results.count("failed", f"{model}: error in stream: {text[-300:]!r}")
            return
        end = time.monotonic()
        results.count("served")
        with results.lock:
            results.latency.setdefault("pending", []).append((start, end))
    except (OSError, http.client.HTTPException) as error:
        results.count("failed", f"{model}: {kind}: {error!r}")
    finally:
        connection.close()


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=pathlib.Path, default=SOURCE_DIR / "build-test")
    parser.add_argument("--llm-plugin", type=pathlib.Path, default=None,
                        help="folder with llm-gptq.so and plugin.yaml (default: BUILD_DIR/plugins/llm-gptq)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load at least")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment of the host (e.g. MALLOC_ARENA_MAX=2, ASAN_OPTIONS=...)")
    parser.add_argument("--trim-with-gdb", action="store_true",
                        help="after the run, call malloc_trim(0) in the host through gdb and print the RSS then")
    arguments = parser.parse_args()
    host_env = dict(item.split("=", 1) for item in arguments.env)

    root = pathlib.Path(tempfile.mkdtemp(prefix="citadel-soak-"))
    llm_plugin = arguments.llm_plugin or arguments.build_dir / "plugins" / "llm-gptq"
    host = Host(arguments.build_dir.resolve(), root, llm_plugin.resolve(), host_env)
    time.sleep(1.0)
    pool_start, rss_start = host.pool_used(), host.rss()
    memory_start = host_memory.snapshot(host.process.pid)
    sampler = host_memory.Sampler(host.process.pid)
    results = Results()
    stop = threading.Event()

    def client(index):
        rng = random.Random(arguments.seed * 1000 + index)
        models = list(LLM_MODELS) + ["echo"]
        while not stop.is_set():
            one_request(host.port, rng.choice(models), results, rng)

    def reloader():
        rng = random.Random(arguments.seed)
        interval = arguments.duration / max(1, arguments.reloads)
        for number in range(arguments.reloads):
            if number % 2 == 0:
                host.install_echo("echo-v2" if number % 4 == 0 else "echo-v1")
            else:
                name = rng.choice(list(LLM_MODELS) + ["echo"])
                weights = (SOURCE_DIR / "tests" / "data" / "llm" / LLM_MODELS[name]) if name in LLM_MODELS else None
                host.write_model(name, "llm-gptq" if weights else "echo", weights, 256 + number)
            start = time.monotonic()
            reply = host.admin({"cmd": "reload"})
            end = time.monotonic()
            with results.lock:
                results.reload_windows.append((start, end))
            if not reply.get("ok"):
                results.count("reload_failed")
            time.sleep(max(0.0, interval - (end - start)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(arguments.clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    reload_thread = threading.Thread(target=reloader)
    reload_thread.start()
    reload_thread.join()
    while time.monotonic() - began < arguments.duration:
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    time.sleep(2.0)  # retired instances release their blocks
    pool_end, rss_end = host.pool_used(), host.rss()
    sampler.stop()
    memory_end = host_memory.snapshot(host.process.pid)
    memory_trimmed = None
    if arguments.trim_with_gdb and host_memory.trim_with_gdb(host.process.pid):
        memory_trimmed = host_memory.snapshot(host.process.pid)

    for start, end in results.latency.get("pending", []):
        results.latency["during" if results.during_reload(start, end) else "outside"].append(end - start)
    reload_times = [end - start for start, end in results.reload_windows]
    host.process.send_signal(signal.SIGTERM)
    exit_status = host.process.wait(timeout=60)

    c = results.counts
    print(f"soak: {arguments.clients} clients, {len(reload_times)} reloads "
          f"({c.get('reload_failed', 0)} failed), {elapsed:.1f} s, cpus {os.cpu_count()}")
    print(f"requests: served {c.get('served', 0)}, refused 429/503 {c.get('refused', 0)}, "
          f"cancelled {c.get('cancelled', 0)}, disconnected {c.get('disconnected', 0)}, "
          f"failed {c.get('failed', 0)}")
    for where in ("outside", "during"):
        values = results.latency[where]
        print(f"latency {where} reloads: n {len(values)}, p50 {percentile(values, 0.5) * 1000:.0f} ms, "
              f"p99 {percentile(values, 0.99) * 1000:.0f} ms")
    print(f"reload: p50 {percentile(reload_times, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(reload_times, 0.99) * 1000:.0f} ms")
    print(f"pool used bytes: start {pool_start}, end {pool_end}")
    print(f"rss: start {rss_start / 2**20:.1f} MiB, end {rss_end / 2**20:.1f} MiB")
    print("rss at 25/50/75/100% of the run, peak: " + " / ".join(f"{m:.1f}" for m in sampler.quarters()) + " MiB")
    print("memory at start: " + host_memory.describe(memory_start))
    print("memory at end:   " + host_memory.describe(memory_end))
    if memory_trimmed:
        print("after malloc_trim(0): " + host_memory.describe(memory_trimmed))
    print(f"exit status after SIGTERM: {exit_status}")
    for failure in results.failures:
        print("  failure:", failure)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
