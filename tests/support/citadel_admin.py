"""Reaching a running citadel from Python: one request on its admin socket,
waiting for its HTTP port once it has started, and putting a built plugin
folder into a throw-away plugins_dir. Standard library only.

Used by tests/python/conftest.py (the API tests' hosts) and
bench/soak/soak.py (the soak host); the C++ counterpart is
tests/support/citadel_process.hpp.
"""
import json
import pathlib
import shutil
import socket
import time


def admin_request(socket_path, command, timeout=None):
    """Sends one command object; returns the parsed reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        if timeout is not None:
            connection.settimeout(timeout)
        connection.connect(str(socket_path))
        connection.sendall((json.dumps(command) + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            reply += chunk
    return json.loads(reply)


def wait_http_port(process, socket_path, log_path, timeout, poll_s=0.05):
    """The HTTP port from `status` once the admin socket answers; raises
    RuntimeError with the log when the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"citadel exited with {process.returncode}:\n"
                               + pathlib.Path(log_path).read_text(errors="replace"))
        try:
            port = admin_request(socket_path, {"cmd": "status"})["status"].get("http_port", 0)
            if port:
                return port
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(poll_s)
    raise RuntimeError("citadel did not open its admin socket in time:\n"
                       + pathlib.Path(log_path).read_text(errors="replace"))


def install_plugin_folder(built_folder, plugins_dir, name):
    """plugins_dir/name/ with the built name.so and plugin.yaml copied in."""
    target = pathlib.Path(plugins_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(pathlib.Path(built_folder) / f"{name}.so", target / f"{name}.so")
    shutil.copy(pathlib.Path(built_folder) / "plugin.yaml", target / "plugin.yaml")
    return target
