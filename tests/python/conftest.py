"""Fixtures for the Python API tests: the real citadel binary, started on a
throw-away configuration with the tiny llm-gptq test models, and the official
`openai` client pointed at it.

CTest passes CITADEL_BUILD_DIR (the build tree: host/citadel and
plugins/llm-gptq/llm-gptq.so) and CITADEL_SOURCE_DIR (tests/data). Tests use
the session fixture `citadel` (one host for the whole run, models below) or
`start_citadel(models)` for a host of their own.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import openai
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("CITADEL_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "support"))
import citadel_admin  # noqa: E402  pylint: disable=wrong-import-position
BUILD_DIR = pathlib.Path(os.environ.get("CITADEL_BUILD_DIR", SOURCE_DIR / "build-test"))
TEST_MODELS = SOURCE_DIR / "tests" / "data" / "llm"

# name -> (weights folder, llm-gptq options). f32 KV cache so that logprobs
# can be compared with the float32 reference closely.
DEFAULT_MODELS = {
    "llama-fp16": (TEST_MODELS / "llama-fp16", {"kv_cache_dtype": "f32", "threads": 2}),
    "qwen2-gptq": (TEST_MODELS / "qwen2-gptq", {"kv_cache_dtype": "f32", "threads": 2}),
}

CITADEL_YAML = """\
admin:
  socket: run/admin.sock
plugins_dir: plugins
models_dir: models.d
runtime_dir: run/runtime
http:
  listen: 127.0.0.1:0
  max_tokens_limit: 512
devices: [cpu]
cpu_cache_mb: 128
log_level: info
"""


class Citadel:
    """One running citadel process and how to reach it."""

    def __init__(self, models):
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="citadel-pytest-"))
        (self.root / "citadel.yaml").write_text(CITADEL_YAML)
        (self.root / "run").mkdir()
        citadel_admin.install_plugin_folder(BUILD_DIR / "plugins" / "llm-gptq", self.root / "plugins", "llm-gptq")
        (self.root / "models.d").mkdir()
        for name, (weights, options) in models.items():
            text = f"name: {name}\nplugin: llm-gptq\ndevice: cpu\nweights: {weights}\n"
            text += "cache:\n  size_mb: 32\n"
            if options:
                text += "options: " + json.dumps(options) + "\n"
            (self.root / "models.d" / f"{name}.yaml").write_text(text)
        self._start()

    def _start(self):
        """Starts citadel on self.root/citadel.yaml; returns once /ready answers 200."""
        self.log_path = self.root / "citadel.log"
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(BUILD_DIR / "host" / "citadel"), "--config", str(self.root / "citadel.yaml")],
            stdout=self.log_file, stderr=subprocess.STDOUT, cwd=self.root)
        try:
            self.port = self._wait_for_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
            self._wait_ready()
        except Exception:
            self.stop()
            raise

    def log(self):
        return self.log_path.read_text(errors="replace")

    def admin(self, command):
        return citadel_admin.admin_request(self.root / "run" / "admin.sock", command)

    def _wait_for_port(self, timeout=60.0):
        return citadel_admin.wait_http_port(self.process, self.root / "run" / "admin.sock", self.log_path, timeout)

    def _wait_ready(self, timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/ready", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        raise RuntimeError("citadel did not become ready in time:\n" + self.log())

    def client(self):
        return openai.OpenAI(base_url=self.base_url + "/v1", api_key="unused", max_retries=0, timeout=120)

    def post(self, path, body):
        """POST JSON; returns (status, parsed body)."""
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def start_citadel():
    """A factory: start_citadel(models) -> Citadel; every host is stopped at the end."""
    started = []

    def start(models=None):
        host = Citadel(models or DEFAULT_MODELS)
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


@pytest.fixture(scope="session")
def citadel(start_citadel):
    """One host with DEFAULT_MODELS for the whole session."""
    return start_citadel()


@pytest.fixture(scope="session")
def client(citadel):
    return citadel.client()


@pytest.fixture(scope="session")
def logprob_reference():
    return json.loads((SOURCE_DIR / "tests" / "data" / "logprobs" / "llama-fp16.json").read_text())
