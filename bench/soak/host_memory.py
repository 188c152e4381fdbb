"""Memory figures of a running process, for bench/soak/soak.py (Linux /proc).

snapshot(pid) reads /proc/PID/status and smaps_rollup: resident set split
into anonymous (heap, arenas, stacks) and file-backed (code, mapped
weights), thread count, and the plugin copies (.so files under the host's
runtime folder) still mapped; trim_with_gdb(pid) asks glibc to give back
the free memory of its arenas. Sampler samples a process's RSS once a second
in a thread, so a soak can tell growth that levels off (allocator and
thread warm-up) from growth that goes on with the run (a leak).
Standard library only.
"""
import subprocess
import threading
import time


def snapshot(pid):
    figures = {"rss": 0, "anon": 0, "file": 0, "threads": 0, "plugin_copies": 0}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                figures["rss"] = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                figures["threads"] = int(line.split()[1])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Anonymous:"):
                    figures["anon"] = int(line.split()[1]) * 1024
        figures["file"] = figures["rss"] - figures["anon"]
    except OSError:
        pass
    copies = set()
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            path = line.split(maxsplit=5)[5].strip() if len(line.split(maxsplit=5)) == 6 else ""
            if "/plugin-copies/" in path:
                copies.add(path)
    figures["plugin_copies"] = len(copies)
    return figures


def trim_with_gdb(pid):
    """Calls malloc_trim(0) inside the process through gdb (if installed): what
    RSS drops by is free memory glibc's arenas had kept. Returns True if it ran."""
    try:
        subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def describe(figures):
    return (f"rss {figures['rss'] / 2**20:.1f} MiB (anon {figures['anon'] / 2**20:.1f}, "
            f"file {figures['file'] / 2**20:.1f}), {figures['threads']} threads, "
            f"{figures['plugin_copies']} plugin copies mapped")


class Sampler:
    """RSS of `pid` every `interval` seconds until stop(); samples as (seconds, bytes)."""

    def __init__(self, pid, interval=1.0):
        self.pid, self.interval, self.samples = pid, interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._began = time.monotonic()
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self._began, snapshot(self.pid)["rss"]))
            except OSError:
                return
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()

    def quarters(self):
        """RSS in MiB at 25, 50, 75 and 100 % of the sampled time, and the peak."""
        if not self.samples:
            return []
        end = self.samples[-1][0]
        marks = []
        for fraction in (0.25, 0.5, 0.75, 1.0):
            sample = next(s for s in self.samples if s[0] >= fraction * end)
            marks.append(sample[1] / 2**20)
        return marks + [max(s[1] for s in self.samples) / 2**20]
