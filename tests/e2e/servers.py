"""Real servers for end-to-end tests: each example app run as a subprocess on 127.0.0.1.

The servers are started the way a user would start them (`uvicorn --app-dir DIR app:app`,
`gunicorn --chdir DIR app:app`, `trellis run DIR/app.py`), on a free port, and stopped by PID.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "examples"
SERVERS = ("uvicorn", "gunicorn", "trellis")
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0
REQUEST_TIMEOUT = 10.0


def free_port() -> int:
    """Ask the OS for a port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(server: str, example_dir: Path, port: int) -> list[str]:
    """The command line a user would type to serve `example_dir/app.py`, run by this interpreter."""
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "app:app",
            "--app-dir", str(example_dir),
            "--host", HOST,
            "--port", str(port),
        ]  # fmt: skip
    if server == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", "app:app",
            "--chdir", str(example_dir),
            "--workers", "1",
            "--bind", f"{HOST}:{port}",
            "--graceful-timeout", "5",
            *gunicorn_isolation_flags(),
        ]  # fmt: skip
    if server == "trellis":
        # The development server, as README.md tells newcomers to start it.
        return [
            sys.executable, "-m", "trellis.cli", "run", str(example_dir / "app.py"),
            "--host", HOST,
            "--port", str(port),
        ]  # fmt: skip
    raise ValueError(f"unknown server {server!r}; expected one of {SERVERS}")


def gunicorn_isolation_flags() -> list[str]:
    """Flags that keep concurrent test masters apart, where this gunicorn version has them.

    Newer gunicorn opens a control socket at one fixed path in $HOME; two servers would share it.
    """
    from gunicorn.config import KNOWN_SETTINGS

    flags = {flag for setting in KNOWN_SETTINGS for flag in setting.cli or ()}
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


def server_environment() -> dict[str, str]:
    """The test run's environment, with this checkout's `src/` first on the import path."""
    env = dict(os.environ)
    env.pop("GUNICORN_CMD_ARGS", None)
    source = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class RunningServer:
    """One server subprocess serving one example app."""

    server: str
    example: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.get(self.url(path), headers=headers, timeout=REQUEST_TIMEOUT)

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the server by PID; kill it if it has not exited within SHUTDOWN_TIMEOUT."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)

    def wait_until_answering(self) -> None:
        """Poll until any HTTP response comes back; fail with the server's output otherwise."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerFailedToStart(
                    f"{self.server} serving examples/{self.example} exited with code {code} "
                    f"before answering on {self.base_url}. Its output:\n{self.output()}"
                )
            try:
                httpx.get(self.url("/"), timeout=1.0)
            except httpx.TransportError:
                pass
            else:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerFailedToStart(
                    f"{self.server} serving examples/{self.example} did not answer on "
                    f"{self.base_url} within {STARTUP_TIMEOUT:.0f} s. Its output:\n{self.output()}"
                )
            time.sleep(0.1)


class ServerFailedToStart(RuntimeError):
    pass


def start_server(server: str, example: str, log_dir: Path) -> RunningServer:
    example_dir = EXAMPLES_DIR / example
    if not (example_dir / "app.py").is_file():
        raise ServerFailedToStart(f"no example app at {example_dir / 'app.py'}")
    port = free_port()
    log_path = log_dir / f"{server}-{example}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(server, example_dir, port),
            cwd=REPO_ROOT,
            env=server_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = RunningServer(server, example, f"http://{HOST}:{port}", process, log_path)
    running.wait_until_answering()
    return running
