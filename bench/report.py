"""Render results as markdown: in-process tables, the 200-route ratio, loopback, and targets."""

from __future__ import annotations

import statistics
from typing import Any

from bench.apps import ROUTES

ROUTE_LABELS = {"plaintext": "/plaintext", "json": "/json", "params": "/users/{id}/posts/{slug}"}
TRELLIS = "Trellis"


def _k(rate: float) -> str:
    return f"{rate / 1000:,.1f}k"


def _medians(cells: list[Any]) -> dict[tuple[str, str, str, str], float]:
    return {cell.key: statistics.median(cell.rates) for cell in cells if cell.rates}


def _spread(rates: list[float]) -> float:
    median = statistics.median(rates)
    return (max(rates) - min(rates)) / median * 100 if median else 0.0


def _inprocess_tables(cells: list[Any]) -> list[str]:
    medians = _medians(cells)
    by_key = {cell.key: cell for cell in cells}
    raw_names = {cell.spec.protocol: cell.spec.name for cell in cells if cell.spec.is_raw}
    lines: list[str] = []
    variants = list(dict.fromkeys(cell.variant for cell in cells))
    apps = list(dict.fromkeys((cell.spec.name, cell.spec.protocol) for cell in cells))
    for variant in variants:
        title = "base app" if variant == "base" else f"after {variant} registered first"
        lines += [
            f"### In-process, {title}",
            "",
            "Median requests/second over the rounds; ± is the spread (max - min) / median; "
            "(0.00x) is the ratio to the raw callable of the same protocol.",
            "",
            "| App | Protocol | " + " | ".join(ROUTE_LABELS[r] for r in ROUTES) + " |",
            "|---|---|" + "---:|" * len(ROUTES),
        ]
        for name, protocol in apps:
            row = [name, protocol.upper()]
            for route in ROUTES:
                key = (name, protocol, variant, route)
                if key not in medians:
                    row.append("-")
                    continue
                text = f"{_k(medians[key])} ±{_spread(by_key[key].rates):.0f}%"
                raw = medians.get((raw_names.get(protocol, ""), protocol, variant, route))
                if raw:
                    text += f" ({medians[key] / raw:.2f}x)"
                row.append(text)
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if len(variants) > 1:
        lines += [
            "### Cost of 200 other routes",
            "",
            "Median req/s with the 200 extra routes divided by the same app without them.",
            "",
            "| App | Protocol | " + " | ".join(ROUTE_LABELS[r] for r in ROUTES) + " |",
            "|---|---|" + "---:|" * len(ROUTES),
        ]
        for name, protocol in apps:
            row = [name, protocol.upper()]
            for route in ROUTES:
                base = medians.get((name, protocol, "base", route))
                extra = medians.get((name, protocol, "200 routes", route))
                row.append(f"{extra / base:.2f}" if base and extra else "-")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def _loopback_table(loopback: dict[Any, Any]) -> list[str]:
    lines = [
        "### Over loopback HTTP",
        "",
        "WSGI apps under gunicorn, ASGI apps under uvicorn (httptools, uvloop); load from wrk.",
        "",
        "req/s is wall-clock throughput; req/CPU-s is requests per CPU-second the server "
        "processes used (what one dedicated core would serve; steadier on a busy machine).",
        "",
        "| App | Server | Route | req/s | req/CPU-s | p50 ms | p99 ms | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for (name, protocol), routes in loopback.items():
        server = "gunicorn" if protocol == "wsgi" else "uvicorn"
        for route, result in routes.items():
            lines.append(
                f"| {name} | {server} | {ROUTE_LABELS[route]} | "
                f"{result.requests_per_second:,.0f} | {result.requests_per_cpu_second:,.0f} | "
                f"{result.p50_ms:.2f} | {result.p99_ms:.2f} | "
                f"{result.errors} |"
            )
    lines.append("")
    return lines


def target_checks(cells: list[Any], loopback: dict[Any, Any]) -> list[tuple[str, float, float]]:
    """(description, measured ratio, required ratio) for every target the data covers."""
    medians = _medians(cells)
    checks: list[tuple[str, float, float]] = []

    def ratio(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> float | None:
        if a in medians and b in medians:
            return medians[a] / medians[b]
        return None

    for protocol, peer, needed in (("wsgi", "Falcon", 1.3), ("asgi", "Starlette", 1.5)):
        for route in ("json", "params"):
            value = ratio((TRELLIS, protocol, "base", route), (peer, protocol, "base", route))
            if value is not None:
                checks.append(
                    (f"in-process {protocol.upper()} {route}: Trellis / {peer}", value, needed)
                )
    for protocol in ("wsgi", "asgi"):
        for route in ROUTES:
            value = ratio(
                (TRELLIS, protocol, "200 routes", route), (TRELLIS, protocol, "base", route)
            )
            if value is not None:
                checks.append(
                    (f"in-process {protocol.upper()} {route}: 200 routes / base", value, 0.95)
                )
    for protocol, peer, needed in (("asgi", "raw ASGI", 0.9), ("wsgi", "Falcon", 1.0)):
        ours = loopback.get((TRELLIS, protocol))
        theirs = loopback.get((peer, protocol))
        if not ours or not theirs:
            continue
        server = "uvicorn" if protocol == "asgi" else "gunicorn"
        for route in ROUTES:
            value = ours[route].requests_per_second / theirs[route].requests_per_second
            checks.append((f"loopback {server} {route}: Trellis / {peer}, req/s", value, needed))
            if ours[route].requests_per_cpu_second and theirs[route].requests_per_cpu_second:
                value = ours[route].requests_per_cpu_second / theirs[route].requests_per_cpu_second
                checks.append(
                    (f"loopback {server} {route}: Trellis / {peer}, req/CPU-s", value, needed)
                )
    return checks


def render(cells: list[Any], loopback: dict[Any, Any], meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in meta["versions"].items())
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}",
        f"- Python: {meta['python']}",
        f"- Versions: {versions}",
        f"- Command: `{meta['command']}` ({meta['elapsed']})",
        f"- Settings: {meta['settings']}",
        "",
        "See bench/README.md for what each number means. Trellis runs with host checking on; "
        "`Trellis` uses `def` handlers declared `sync_to_thread=False`, `Trellis async` uses "
        "`async def` handlers, both served by one app object under WSGI and ASGI.",
        "",
    ]
    checks = target_checks(cells, loopback)
    if checks:
        lines += ["### Targets", "", "| Target | Measured | Needed | |", "|---|---:|---:|---|"]
        for description, value, needed in checks:
            verdict = "met" if value >= needed else "**missed**"
            lines.append(f"| {description} | {value:.2f}x | {needed:.2f}x | {verdict} |")
        lines.append("")
    if cells:
        lines += _inprocess_tables(cells)
    if loopback:
        lines += _loopback_table(loopback)
    return "\n".join(lines)
