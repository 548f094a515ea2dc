"""Database round of the benchmarks (TechEmpower style), standalone.

    python bench/db/run.py [--duration 5] [--connections 16] [--backends sqlite,postgresql]

For each database (a seeded SQLite file, and a temporary PostgreSQL database created through
the `test` database and dropped afterwards) it serves the same two endpoints with each
framework on 127.0.0.1 and loads them with wrk:

- single query: `GET /db`, one random `world` row by id, as JSON;
- fortunes: `GET /fortunes`, every `fortune` row plus one added, sorted, rendered as HTML by a
  template (autoescaped).

Every framework runs in one worker process under gunicorn (WSGI, sync worker); Trellis also
under uvicorn (ASGI). Prints a markdown table of requests per second and each result's ratio
to the fastest peer (Flask + Flask-SQLAlchemy or Django ORM) in the same test and database.
Needs wrk (apt-get install wrk) and the peers: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import seed  # noqa: E402

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PEERS = ("Flask + Flask-SQLAlchemy", "Django ORM")
SERVERS = {
    "Trellis (gunicorn, WSGI)": ["gunicorn", "trellis_app:app"],
    "Trellis (uvicorn, ASGI)": ["uvicorn", "trellis_app:app"],
    "Flask + Flask-SQLAlchemy": ["gunicorn", "flask_app:app"],
    "Django ORM": ["gunicorn", "django_app:app"],
}
TESTS = {"single query": "/db", "fortunes": "/fortunes"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(server: str, target: str, port: int, url: str, log: Path) -> subprocess.Popen[bytes]:
    if server == "gunicorn":
        command = [
            sys.executable, "-m", "gunicorn", target, "--chdir", str(HERE),
            "--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "uvicorn", target, "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
    env = {**os.environ, "BENCH_DATABASE_URL": url, "PYTHONPATH": str(HERE)}
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/db", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{command} did not serve /db; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check(port: int, path: str) -> None:
    response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    response.raise_for_status()
    if path == "/fortunes":
        body = response.text
        assert "&lt;script&gt;" in body and "<script>" not in body, "fortunes not escaped"
        assert body.count("<tr>") == 14, "fortunes page does not list 13 rows"
    else:
        data = response.json()
        assert set(data) == {"id", "randomNumber"}, data


def wrk(port: int, path: str, duration: int, connections: int) -> float:
    url = f"http://127.0.0.1:{port}{path}"
    subprocess.run(
        ["wrk", "-t1", f"-c{connections}", "-d1s", url], capture_output=True, check=True
    )  # warm-up
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under load")
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if match is None:
        raise RuntimeError(f"Unexpected wrk output:\n{result.stdout}")
    return float(match.group(1))


def postgres_database() -> tuple[str, str]:
    name = f"trellis_bench_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="runs per result; the best counts")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    results: list[tuple[str, str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "servers.log"
        for backend in args.backends.split(","):
            pg_name = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            else:
                url, pg_name = postgres_database()
            try:
                seed(url)
                for framework, (server, target) in SERVERS.items():
                    port = free_port()
                    process = start(server, target, port, url, log)
                    try:
                        for test, path in TESTS.items():
                            check(port, path)
                            rps = max(
                                wrk(port, path, args.duration, args.connections)
                                for _ in range(args.repeat)
                            )
                            results.append((test, backend, framework, rps))
                            print(
                                f"{test:13} {backend:10} {framework:26} {rps:9.0f} req/s",
                                file=sys.stderr,
                            )
                    finally:
                        stop(process)
            finally:
                if pg_name is not None:
                    drop_postgres_database(pg_name)
    print(table(results, args))


def table(results: list[tuple[str, str, str, float]], args: argparse.Namespace) -> str:
    lines = [
        f"Database round: wrk, 1 thread, {args.connections} connections, best of "
        f"{args.repeat} runs of {args.duration}s after a 1s warm-up; one worker process per "
        "framework; Python "
        f"{sys.version.split()[0]}.",
        "",
        "| test | database | framework | req/s | ratio to fastest peer |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for test in TESTS:
        for backend in args.backends.split(","):
            rows = [r for r in results if r[0] == test and r[1] == backend]
            best_peer = max((r[3] for r in rows if r[2] in PEERS), default=0.0)
            for _, _, framework, rps in rows:
                ratio = f"{rps / best_peer:.2f}" if best_peer else "-"
                lines.append(f"| {test} | {backend} | {framework} | {rps:.0f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
