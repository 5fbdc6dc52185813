"""Shared helpers for the hostile-client checks in tests/hostile/.

Loopback only: every script refuses a URL whose host is not 127.0.0.1 (or localhost), and
every attack is bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import resource
import ssl
import statistics
import sys
import threading
import time
import urllib.parse

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="server base URL, e.g. https://127.0.0.1:8443")
    parser.add_argument("--cacert", required=True, help="CA certificate the server's certificate chains to")
    parser.add_argument("--pid", type=int, required=True, help="server process id (RSS is read from /proc/PID/status)")
    parser.add_argument("--path", default="/oracleinvocation/", help="the encrypt endpoint (default %(default)s)")
    return parser


def split_url(url: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "https" or not parsed.hostname or parsed.port is None:
        sys.exit(f"FAIL: --url must be https://HOST:PORT, got {url!r}")
    if parsed.hostname not in LOOPBACK:
        sys.exit(f"FAIL: these attacks only run against loopback, not {parsed.hostname!r}")
    return parsed.hostname, parsed.port


def tls_context(cacert: str, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cacert)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def raise_fd_limit() -> int:
    """Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int | None:
    """The process's resident set size in KiB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not reaped) still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def close_reason(err: OSError) -> str:
    """How a connection that failed while being read ended, for the reports: reset,
    tls-error:<reason> or os-error:<errno>."""
    if isinstance(err, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(err, ssl.SSLError):
        return f"tls-error:{err.reason}"
    return f"os-error:{err.errno}"


def verdict(failures: list[str], pid: int, passed: str) -> int:
    """Adds a dead server to `failures`, prints each failure or else `passed`, and returns the
    exit code: 1 if anything failed."""
    if not alive(pid):
        failures.append("the server process died")
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        return 1
    print(f"PASS: {passed}")
    return 0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 300 samples is the 297th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def describe(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    if not values:
        return "no samples"
    scaled = [v * scale for v in values]
    return (
        f"n={len(scaled)} min={min(scaled):.1f} p50={statistics.median(scaled):.1f} "
        f"p90={percentile(scaled, 0.90):.1f} p99={percentile(scaled, 0.99):.1f} max={max(scaled):.1f} {unit}"
    )


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


# ---------------------------------------------------------------------------------------------
# A monitor in its own process: /healthz latency over fresh TLS connections, and the server's
# RSS. A separate process, so an attacking event loop or the GIL cannot inflate what it measures.


def _probe_once(host: str, port: int, context: ssl.SSLContext, timeout: float) -> tuple[bool, str]:
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=timeout)
    try:
        conn.request("GET", "/healthz", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            return False, f"status {response.status}"
        if json.loads(body) != {"status": "ok"}:
            return False, f"body {body[:80]!r}"
        return True, ""
    except (OSError, http.client.HTTPException, ValueError) as err:
        return False, f"{type(err).__name__}: {err}"
    finally:
        conn.close()


def _monitor_main(host, port, cacert, pid, interval, timeout, stop, results):
    context = tls_context(cacert, ["http/1.1"])
    rss_samples: list[tuple[float, int]] = []
    probes: list[tuple[float, float, bool, str]] = []

    def sample_rss():
        while not stop.is_set():
            value = rss_kib(pid)
            if value is not None:
                rss_samples.append((time.monotonic(), value))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    while not stop.is_set():
        started = time.monotonic()
        ok, why = _probe_once(host, port, context, timeout)
        probes.append((started, time.monotonic() - started, ok, why))
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    sampler.join()
    results.put({"rss": rss_samples, "probes": probes})


class Monitor:
    """Runs the health prober and RSS sampler in a child process until stop()."""

    def __init__(self, host: str, port: int, cacert: str, pid: int, interval: float = 0.1, timeout: float = 5.0):
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._results = ctx.Queue()
        self._process = ctx.Process(
            target=_monitor_main,
            args=(host, port, cacert, pid, interval, timeout, self._stop, self._results),
            daemon=True,
        )
        self.rss: list[tuple[float, int]] = []
        self.probes: list[tuple[float, float, bool, str]] = []

    def start(self) -> "Monitor":
        self._process.start()
        return self

    def stop(self) -> "Monitor":
        self._stop.set()
        data = self._results.get(timeout=30)
        self._process.join(timeout=10)
        self.rss = data["rss"]
        self.probes = data["probes"]
        return self

    def window(self, start: float, end: float):
        """RSS samples and probes (started) within [start, end]."""
        rss = [v for t, v in self.rss if start <= t <= end]
        probes = [p for p in self.probes if start <= p[0] <= end]
        return rss, probes
