"""The benchmark apps answer the benchmark routes correctly, so their numbers mean something.

The Trellis apps are checked under both protocols with the benchmark's own in-process driver
(the same calls it times); peer frameworks only when the `[bench]` extra is installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.apps import APPS, AppSpec
from bench.inprocess import CheckFailed, Reply, check_app, check_replies, run_lifespan
from bench.report import target_checks

TRELLIS_SPECS = [spec for spec in APPS if spec.module == "trellis_app"]
OTHER_SPECS = [spec for spec in APPS if spec.module != "trellis_app"]


def _id(spec: AppSpec) -> str:
    return f"{spec.name}-{spec.protocol}".replace(" ", "_")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _check(spec: AppSpec, extra_routes: bool, loop: asyncio.AbstractEventLoop) -> None:
    app = spec.create(extra_routes)
    shutdown = run_lifespan(app, loop) if spec.protocol == "asgi" else None
    try:
        check_app(app, spec.protocol, spec.name, loop)
    finally:
        if shutdown is not None:
            shutdown()


@pytest.mark.parametrize("extra_routes", [False, True], ids=["base", "200_routes"])
@pytest.mark.parametrize("spec", TRELLIS_SPECS, ids=_id)
def test_trellis_bench_app_answers_the_three_routes(
    spec: AppSpec, extra_routes: bool, loop: asyncio.AbstractEventLoop
) -> None:
    _check(spec, extra_routes, loop)


@pytest.mark.parametrize("extra_routes", [False, True], ids=["base", "200_routes"])
@pytest.mark.parametrize("spec", OTHER_SPECS, ids=_id)
def test_peer_bench_app_answers_the_three_routes(
    spec: AppSpec, extra_routes: bool, loop: asyncio.AbstractEventLoop
) -> None:
    if not spec.available():
        pytest.skip(f"{spec.requires} is not installed; pip install -e '.[bench]' checks it")
    _check(spec, extra_routes, loop)


def test_check_refuses_a_wrong_answer() -> None:
    def wrong(path: str) -> Reply:
        return Reply(200, {"content-type": "text/plain"}, b"Hello, World!")

    with pytest.raises(CheckFailed, match="/json must be application/json"):
        check_replies("wrong", wrong)


def test_check_refuses_a_2xx_for_a_non_integer_id() -> None:
    answers = {
        "/plaintext": Reply(200, {"content-type": "text/plain"}, b"Hello, World!"),
        "/json": Reply(200, {"content-type": "application/json"}, b'{"message":"Hello, World!"}'),
        "/users/42/posts/hello-world": Reply(
            200, {"content-type": "application/json"}, b'{"id":42,"slug":"hello-world"}'
        ),
    }

    def lenient(path: str) -> Reply:
        return answers.get(path, Reply(200, {"content-type": "application/json"}, b"{}"))

    with pytest.raises(CheckFailed, match="must not be 2xx"):
        check_replies("lenient", lenient)


def test_targets_compare_trellis_with_the_named_peers() -> None:
    class FakeCell:
        def __init__(self, name: str, protocol: str, route: str, rate: float) -> None:
            self.key = (name, protocol, "base", route)
            self.rates = [rate]

    cells = [
        FakeCell("Trellis", "wsgi", "json", 260.0),
        FakeCell("Falcon", "wsgi", "json", 200.0),
    ]
    [(description, value, needed)] = target_checks(cells, {})
    assert description == "in-process WSGI json: Trellis / Falcon"
    assert value == pytest.approx(1.3)
    assert needed == 1.3
