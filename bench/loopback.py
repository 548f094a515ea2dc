"""Over loopback HTTP: each app under a real server on 127.0.0.1, load from `wrk`.

WSGI apps run under gunicorn (gthread workers with one thread, so connections are kept alive
as uvicorn keeps them), ASGI apps under uvicorn with httptools and uvloop; every server gets
the same number of worker processes. Servers are stopped by PID.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.apps import AppSpec
from bench.inprocess import Reply, check_replies

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    # Requests per CPU-second the server processes used (0 when /proc is not available):
    # what one core would serve, far less disturbed by other load than wall-clock req/s.
    requests_per_cpu_second: float = 0.0


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its descendants; 0 without /proc."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime (of the process) and cutime, cstime (of its reaped children).
            total += sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(spec: AppSpec, port: int, workers: int) -> list[str]:
    if spec.protocol == "wsgi":
        return [
            sys.executable, "-m", "gunicorn", spec.server_target,
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", "1",
            "--log-level", "warning",
            "--backlog", "2048",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "uvicorn", spec.server_target,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", str(workers),
        "--loop", "uvloop",
        "--http", "httptools",
        "--no-access-log",
        "--log-level", "warning",
        "--backlog", "2048",
    ]  # fmt: skip


class Server:
    """One server process for one app; `stop()` ends it (and its workers) by PID."""

    def __init__(self, spec: AppSpec, workers: int) -> None:
        self.spec = spec
        self.port = free_port()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            server_command(spec, self.port, workers),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"{self.spec.name} server exited: {error[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/plaintext", timeout=1) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"{self.spec.name} server did not answer within {timeout}s")

    def get(self, path: str) -> Reply:
        request = urllib.request.Request(self.url + path, headers={"Host": "127.0.0.1"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return Reply(response.status, headers, response.read())
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in exc.headers.items()}
            return Reply(exc.code, headers, exc.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            # The server is its own process group leader: the master forwards SIGTERM to workers.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


_LATENCY_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> LoadResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rps is None or total is None:
        raise RuntimeError(f"Cannot read wrk's output:\n{output}")
    latencies = {
        m.group(1): float(m.group(2)) * _UNITS[m.group(3)] for m in _LATENCY_RE.finditer(output)
    }
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return LoadResult(
        float(rps.group(1)),
        latencies.get("50", 0.0),
        latencies.get("99", 0.0),
        errors,
        int(total.group(1)),
    )


def run_wrk(url: str, duration: float, connections: int, threads: int) -> LoadResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
        "--latency", "-H", "Host: 127.0.0.1", url,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def measure_all(
    specs: list[AppSpec],
    routes: dict[str, str],
    *,
    rounds: int,
    duration: float,
    connections: int,
    threads: int,
    workers: int,
    seed: int | None,
    log: Any,
) -> dict[tuple[str, str], dict[str, LoadResult]]:
    """Start every app's server, check its answers, then load each (app, route) in shuffled rounds.

    Each cell reports the round with the median req/s (its latencies and errors come with it).
    """
    servers: list[Server] = []
    try:
        for spec in specs:
            server = Server(spec, workers)
            servers.append(server)
            server.wait_ready()
            check_replies(f"{spec.name} ({spec.protocol}, loopback)", server.get)
        cells = [(server, key, path) for server in servers for key, path in routes.items()]
        for server, _key, path in cells:
            run_wrk(server.url + path, 1, connections, threads)  # warm-up
        samples: dict[tuple[Server, str], list[LoadResult]] = {}
        rng = random.Random(seed)
        for index in range(rounds):
            rng.shuffle(cells)
            for server, key, path in cells:
                cpu_before = process_tree_cpu(server.process.pid)
                result = run_wrk(server.url + path, duration, connections, threads)
                cpu = process_tree_cpu(server.process.pid) - cpu_before
                if cpu > 0:
                    result.requests_per_cpu_second = result.requests / cpu
                samples.setdefault((server, key), []).append(result)
            log(f"  loopback round {index + 1}/{rounds} done")
        results: dict[tuple[str, str], dict[str, LoadResult]] = {}
        for server in servers:
            spec = server.spec
            per_route = results.setdefault((spec.name, spec.protocol), {})
            for key in routes:
                runs = sorted(samples[(server, key)], key=lambda r: r.requests_per_second)
                per_route[key] = runs[len(runs) // 2]
        return results
    finally:
        for server in servers:
            server.stop()
