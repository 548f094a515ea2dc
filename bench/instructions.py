"""CPU instructions per request, counted by valgrind's callgrind: a measure noise cannot move.

Wall-clock numbers on a shared machine can vary by 2x from one run to the next; the number of
instructions a request executes is the same on every run of the same code (within a few hundred
instructions: the garbage collector and dict resizes fall in different places). Use it to tell
whether a change made the request path cheaper, and by how much.

Each cell runs under callgrind twice (with FEW and MANY requests after warming up, so that
start-up cancels out in the difference). After the warm-up the child freezes what start-up
allocated (gc.freeze): otherwise one full garbage collection over the start-up heap, falling in
one run and not the other, moves the difference by thousands of instructions a request.

- `inprocess`: the app called directly, exactly as `python -m bench` times it (bench.inprocess).
- `uvicorn`: ASGI apps behind uvicorn's own httptools protocol and ProxyHeadersMiddleware, fed
  raw HTTP/1.1 bytes through an in-memory transport: the server's Python work per request
  without sockets or the kernel, which is most of what `wrk` measures over loopback.
- `gunicorn`: WSGI apps behind what a gunicorn worker does per request (its parser, environ
  and response objects) on an in-memory socket.

    python -m bench.instructions [--apps raw Trellis Falcon] [--harness inprocess uvicorn gunicorn]

Writes bench/INSTRUCTIONS.md. Needs `valgrind` (apt); each cell takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.apps import APPS, ROUTES, AppSpec
from bench.inprocess import asgi_timer, check_app, run_lifespan, wsgi_timer

ROOT = Path(__file__).resolve().parents[1]
HARNESSES = ("inprocess", "uvicorn", "gunicorn")
FEW, MANY = 500, 1500
_COLLECTED = re.compile(rb"Collected : (\d+)")


def spec_named(name: str, protocol: str) -> AppSpec:
    for spec in APPS:
        if spec.name == name and spec.protocol == protocol:
            return spec
    raise SystemExit(f"no benchmark app {name!r} speaks {protocol}")


# -- the child process: serve `n` requests, nothing else ----------------------------------------


def serve_inprocess(spec: AppSpec, path: str, n: int) -> None:
    loop = asyncio.new_event_loop()
    app = spec.create(False)
    shutdown = run_lifespan(app, loop) if spec.protocol == "asgi" else None
    check_app(app, spec.protocol, spec.name, loop)
    run = asgi_timer(app, path, loop) if spec.protocol == "asgi" else wsgi_timer(app, path)
    run(200)
    gc.freeze()
    run(n)
    if shutdown is not None:
        shutdown()
    loop.close()


class MemoryTransport(asyncio.Transport):
    """What uvicorn's protocol writes to, kept in memory; wakes the driver once a body is out."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.waiter: asyncio.Future[None] | None = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = bytes(data)
        self.written.append(chunk)
        # The status line and headers come in one write; the body in the next.
        if not chunk.startswith(b"HTTP/") and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def close(self) -> None:
        return None


async def _drive_uvicorn(app: Any, path: str, n: int) -> list[bytes]:
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    config = Config(app, http="httptools", lifespan="off", access_log=False, log_level="warning")
    config.load()
    protocol = HttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = MemoryTransport()
    protocol.connection_made(transport)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    for _ in range(n):
        transport.waiter = loop.create_future()
        protocol.data_received(request)
        await transport.waiter
    written = transport.written[:2]
    protocol.connection_lost(None)
    return written


def serve_uvicorn(spec: AppSpec, path: str, n: int) -> None:
    import uvloop

    app = spec.create(False)
    loop = uvloop.new_event_loop()
    shutdown = run_lifespan(app, loop)
    head, body = loop.run_until_complete(_drive_uvicorn(app, path, 200))
    if not head.startswith(b"HTTP/1.1 200 ") or not body:
        raise SystemExit(f"{spec.name} {path} under uvicorn: unexpected reply {head!r} {body!r}")
    gc.freeze()
    loop.run_until_complete(_drive_uvicorn(app, path, n))
    shutdown()
    loop.close()


class MemorySocket:
    """The client socket gunicorn's parser reads from and its response writes to."""

    def __init__(self) -> None:
        self.incoming = b""
        self.written: list[bytes] = []

    def recv(self, size: int) -> bytes:
        data, self.incoming = self.incoming[:size], self.incoming[size:]
        return data

    def sendall(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def setblocking(self, flag: bool) -> None:
        return None

    def settimeout(self, value: float | None) -> None:
        return None


def _drive_gunicorn(app: Any, path: str, n: int) -> list[bytes]:
    """What a gunicorn worker does per request on a kept-alive connection: parse the bytes,
    build the environ and response, call the app, write and close the body."""
    from gunicorn.config import Config
    from gunicorn.http import wsgi
    from gunicorn.http.parser import RequestParser

    config = Config()
    sock = MemorySocket()
    peer, server = ("127.0.0.1", 50000), ("127.0.0.1", 8000)
    parser = RequestParser(config, sock, peer)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n\r\n".encode()
    for _ in range(n):
        sock.incoming = request
        parsed = next(parser)
        response, environ = wsgi.create(parsed, sock, peer, server, config)
        body = app(environ, response.start_response)
        try:
            for chunk in body:
                response.write(chunk)
            response.close()
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    return sock.written[:2]


def serve_gunicorn(spec: AppSpec, path: str, n: int) -> None:
    app = spec.create(False)
    head, body = _drive_gunicorn(app, path, 200)
    if not head.startswith(b"HTTP/1.1 200 ") or not body:
        raise SystemExit(f"{spec.name} {path} under gunicorn: unexpected reply {head!r} {body!r}")
    gc.freeze()
    _drive_gunicorn(app, path, n)


# -- the parent: run children under callgrind ------------------------------------------------------


def collected(output: bytes) -> int:
    """The instruction total callgrind reports on stderr."""
    found = _COLLECTED.search(output)
    if found is None:
        raise RuntimeError("callgrind reported no instruction count:\n" + output.decode()[-2000:])
    return int(found.group(1))


def count(spec: AppSpec, harness: str, path: str, n: int) -> int:
    """Instructions a child process executes serving `n` requests (plus its start-up)."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={scratch}/callgrind.out",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            spec.name,
            spec.protocol,
            harness,
            path,
            str(n),
        ]
        # A fixed hash seed: string hashes decide dict probing and set order, which moves the
        # count by a thousand instructions from one process to the next otherwise.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}")
    return collected(done.stderr)


def per_request(spec: AppSpec, harness: str, path: str) -> float:
    """Instructions per request: the difference between MANY and FEW requests."""
    return (count(spec, harness, path, MANY) - count(spec, harness, path, FEW)) / (MANY - FEW)


def render(results: dict[tuple[str, str, str, str], float], meta: dict[str, str]) -> str:
    lines = [
        "# Instructions per request",
        "",
        f"- Date: {meta['date']}",
        f"- Python: {meta['python']}",
        f"- Command: `{meta['command']}`",
        "",
        "Thousands of CPU instructions per request (callgrind), and the multiple of the raw "
        "callable of the same protocol and harness. See bench/instructions.py for the method.",
    ]
    for harness in HARNESSES:
        rows = sorted(
            {(name, protocol) for name, protocol, h, _ in results if h == harness},
            key=lambda row: (row[1] == "asgi", not row[0].startswith("raw"), row[0]),
        )
        if not rows:
            continue
        title = {
            "inprocess": "in process",
            "uvicorn": "behind uvicorn's protocol",
            "gunicorn": "behind gunicorn's request handling",
        }[harness]
        lines += ["", f"## {title}", "", "| App | Protocol | " + " | ".join(ROUTES) + " |"]
        lines.append("|---|---|" + "---:|" * len(ROUTES))
        for name, protocol in rows:
            raw_name = "raw WSGI" if protocol == "wsgi" else "raw ASGI"
            cells = []
            for route in ROUTES:
                value = results.get((name, protocol, harness, route))
                raw = results.get((raw_name, protocol, harness, route))
                if value is None:
                    cells.append("")
                elif raw:
                    cells.append(f"{value / 1000:,.1f}k ({value / raw:.2f}x)")
                else:
                    cells.append(f"{value / 1000:,.1f}k")
            lines.append(f"| {name} | {protocol.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--apps", nargs="*", default=["raw", "Trellis", "Falcon", "Starlette"])
    parser.add_argument("--harness", nargs="*", choices=HARNESSES, default=list(HARNESSES))
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "INSTRUCTIONS.md")
    args = parser.parse_args(argv)
    if args.child:
        name, protocol, harness, path, n = args.child
        spec = spec_named(name, protocol)
        serve = {"uvicorn": serve_uvicorn, "gunicorn": serve_gunicorn}.get(harness)
        (serve or serve_inprocess)(spec, path, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    wanted = [n.lower() for n in args.apps]
    specs = [
        spec
        for spec in APPS
        if spec.available()
        and any(n in spec.name.lower() for n in wanted)
        and "async" not in spec.name
    ]
    jobs = [
        (spec, harness, route, path)
        for spec in specs
        for harness in args.harness
        if harness == "inprocess" or (harness == "uvicorn") == (spec.protocol == "asgi")
        for route, path in ROUTES.items()
    ]
    print(f"{len(jobs)} cells, two callgrind runs each")
    results: dict[tuple[str, str, str, str], float] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {
            pool.submit(per_request, spec, harness, path): (spec, harness, route)
            for spec, harness, route, path in jobs
        }
        for future, (spec, harness, route) in futures.items():
            results[(spec.name, spec.protocol, harness, route)] = future.result()
            print(f"  {spec.name} ({spec.protocol}, {harness}) {route}: {future.result():,.0f}")
    command = "python -m bench.instructions " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "command": command.strip(),
    }
    text = render(results, meta)
    print(text)
    args.output.write_text(text)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
