"""Run the benchmark suite and write bench/RESULTS.md. `python -m bench --help` for options."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.apps import APPS, ROUTES, AppSpec  # noqa: E402
from bench.inprocess import asgi_timer, check_app, run_lifespan, wsgi_timer  # noqa: E402

VARIANTS = {"base": False, "200 routes": True}


class Cell:
    """One measured combination: app, protocol, route, variant; its per-round req/s."""

    def __init__(
        self, spec: AppSpec, variant: str, route: str, run: Callable[[int], float]
    ) -> None:
        self.spec = spec
        self.variant = variant
        self.route = route
        self.run = run
        self.batch = 100
        self.rates: list[float] = []

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.spec.name, self.spec.protocol, self.variant, self.route)

    def calibrate(self, seconds: float) -> None:
        """Pick a batch size that takes about `seconds`."""
        n = 50
        while True:
            elapsed = self.run(n)
            if elapsed >= 0.02 or n >= 1_000_000:
                break
            n *= 4
        self.batch = max(50, int(n * seconds / elapsed))

    def measure(self) -> None:
        gc.collect()
        elapsed = self.run(self.batch)
        self.rates.append(self.batch / elapsed)


def select_apps(names: list[str] | None) -> list[AppSpec]:
    specs = []
    for spec in APPS:
        if names and not any(n.lower() in spec.name.lower() for n in names):
            continue
        if not spec.available():
            print(f"skip {spec.name}: {spec.requires} is not installed (pip install -e '.[bench]')")
            continue
        specs.append(spec)
    return specs


def run_inprocess(specs: list[AppSpec], args: argparse.Namespace) -> list[Cell]:
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cells: list[Cell] = []
    shutdowns = []
    for spec in specs:
        for variant, extra in VARIANTS.items():
            if args.quick and variant != "base" and not args.variants:
                continue
            app = spec.create(extra)
            if spec.protocol == "asgi":
                shutdowns.append(run_lifespan(app, loop))
            label = f"{spec.name} ({spec.protocol}, {variant})"
            check_app(app, spec.protocol, label, loop)
            for route, path in ROUTES.items():
                if spec.protocol == "wsgi":
                    run = wsgi_timer(app, path)
                else:
                    run = asgi_timer(app, path, loop)
                cells.append(Cell(spec, variant, route, run))
    print(f"in-process: {len(cells)} cells, responses checked; {args.rounds} rounds")
    for cell in cells:
        cell.run(200)  # warm-up
        cell.calibrate(args.seconds)
    rng = random.Random(args.seed)
    for index in range(args.rounds):
        order = list(cells)
        rng.shuffle(order)
        started = time.perf_counter()
        for cell in order:
            cell.measure()
        print(f"  round {index + 1}/{args.rounds} ({time.perf_counter() - started:.1f}s)")
    for shutdown in shutdowns:
        shutdown()
    loop.close()
    return cells


def run_loopback(specs: list[AppSpec], args: argparse.Namespace) -> dict[Any, Any]:
    from bench.loopback import measure_all

    print(f"loopback: {len(specs)} servers, {args.loopback_rounds} rounds")
    return measure_all(
        specs,
        ROUTES,
        rounds=args.loopback_rounds,
        duration=args.duration,
        connections=args.connections,
        threads=args.wrk_threads,
        workers=args.workers,
        seed=args.seed,
        log=print,
    )


def versions() -> dict[str, str]:
    names = [
        "trellis", "falcon", "bottle", "flask", "django", "starlette", "fastapi", "litestar",
        "gunicorn", "uvicorn", "uvloop", "httptools", "orjson",
    ]  # fmt: skip
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short in-process run (< 1 min)")
    parser.add_argument("--inprocess-only", action="store_true", help="skip the loopback part")
    parser.add_argument("--loopback-only", action="store_true", help="skip the in-process part")
    parser.add_argument("--apps", nargs="*", help="only apps whose name contains one of these")
    parser.add_argument("--rounds", type=int, help="in-process rounds (default 7; quick 3)")
    parser.add_argument(
        "--seconds", type=float, help="seconds per cell per round (0.4; quick 0.08)"
    )
    parser.add_argument("--variants", action="store_true", help="with --quick: also 200 routes")
    parser.add_argument("--duration", type=float, default=3.0, help="wrk seconds per run")
    parser.add_argument("--loopback-rounds", type=int, default=3, help="loopback rounds")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown file to write (default bench/RESULTS.md; with --quick, none)",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.seconds = args.seconds or (0.08 if args.quick else 0.4)
    if args.quick:
        args.inprocess_only = not args.loopback_only
    if args.output is None and not args.quick:
        args.output = ROOT / "bench" / "RESULTS.md"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    specs = select_apps(args.apps)
    started = time.perf_counter()
    cells = [] if args.loopback_only else run_inprocess(specs, args)
    loopback = {} if args.inprocess_only else run_loopback(specs, args)
    text = report.render(
        cells,
        loopback,
        meta={
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "versions": versions(),
            "command": command.strip(),
            "settings": (
                f"in-process: {args.rounds} rounds x {args.seconds}s per cell; loopback: wrk "
                f"-t{args.wrk_threads} -c{args.connections} -d{args.duration:g}s x "
                f"{args.loopback_rounds} rounds (median shown), "
                f"{args.workers} worker process(es) per server"
            ),
            "elapsed": f"{time.perf_counter() - started:.0f}s",
        },
    )
    print(text)
    if args.output is not None:
        args.output.write_text(text)
        print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
