"""Latency of one input change on a 20-output dashboard: Trellis versus a whole-page rerun.

Each of the 20 outputs aggregates a seeded data set through its own calc, filtered by its own
slider. One slider moves. Trellis recomputes the one output downstream of it; the whole-page
rerun (Streamlit's model: the script runs top to bottom on every interaction) recomputes all
20. Both are measured twice: the evaluation alone, and a full HTTP update (envelope in, JSON
patch out) through the in-process ASGI client.

    python bench/dashboard_latency.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import inspect
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from trellis import App
from trellis.dashboard import Dashboard, Slider, evaluate
from trellis.testing import TestClient

OUTPUTS = 20
ROWS = 20_000
HEADERS = {"x-trellis-dashboard": "1"}


def node(name: str, reads: str, compute: Callable[[Any], Any]) -> Callable[..., Any]:
    """A dashboard function called `name` whose one parameter is named `reads`."""

    def func(**kwargs: Any) -> Any:
        return compute(kwargs[reads])

    func.__name__ = name
    func.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(reads, inspect.Parameter.KEYWORD_ONLY)]
    )
    return func


def build_page() -> Dashboard:
    """20 sliders; calc_i sums the rows at or above threshold_i; out_i shows calc_i."""
    rng = random.Random(20)
    data = [(rng.randrange(100), rng.random() * 100) for _ in range(ROWS)]
    page = Dashboard(
        "Bench", sidebar=[Slider(f"threshold_{i}", 0, 100, value=50) for i in range(OUTPUTS)]
    )

    def total(threshold: int) -> float:
        return sum(value for key, value in data if key >= threshold)

    for i in range(OUTPUTS):
        page.calc(node(f"calc_{i}", f"threshold_{i}", total))
        page.text()(node(f"out_{i}", f"calc_{i}", lambda value: f"{value:,.1f}"))
    return page


def measure(rounds: int, step: Callable[[int], Any]) -> tuple[float, float]:
    for i in range(5):
        step(i)
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        step(i)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    page = build_page()
    graph = page.graph
    base = {name: field.value for name, field in page.inputs.items()}

    def inputs(i: int) -> dict[str, Any]:
        return base | {"threshold_0": i % 100}

    rows = [
        ("evaluate: Trellis (1 output)", lambda i: evaluate(graph, inputs(i), ["threshold_0"])),
        ("evaluate: whole-page rerun (20)", lambda i: evaluate(graph, inputs(i), None)),
    ]
    app = App(settings={})
    app.mount_dashboard("/bench", page)
    with TestClient(app, protocol="asgi") as client:

        def http(changed: list[str] | None) -> Callable[[int], Any]:
            def step(i: int) -> Any:
                body = {"seq": i, "inputs": inputs(i), "changed": changed}
                response = client.post("/bench/update", json=body, headers=HEADERS)
                assert response.status_code == 200, response.text
                return response

            return step

        rows += [
            ("HTTP update: Trellis (1 output)", http(["threshold_0"])),
            ("HTTP update: whole-page rerun (20)", http(None)),
        ]
        results = [(name, *measure(args.rounds, step)) for name, step in rows]

    print(f"{OUTPUTS} outputs over {ROWS:,} rows each; one slider changes; {args.rounds} rounds")
    print(f"{'':38} {'median ms':>10} {'p95 ms':>10}")
    for name, median, p95 in results:
        print(f"{name:38} {median:10.2f} {p95:10.2f}")
    print(
        f"speed-up: {results[1][1] / results[0][1]:.1f}x (evaluate), "
        f"{results[3][1] / results[2][1]:.1f}x (HTTP)"
    )


if __name__ == "__main__":
    main()
