"""The instruction-count harness (bench/instructions.py): its children serve real requests, its
parsing and report are right. Running callgrind itself takes minutes, so it is left to
`python -m bench.instructions`."""

from __future__ import annotations

import asyncio

import pytest

from bench import instructions
from bench.apps import APPS


def test_the_uvicorn_harness_serves_trellis_through_uvicorns_own_protocol() -> None:
    pytest.importorskip("uvicorn")
    spec = instructions.spec_named("Trellis", "asgi")
    app = spec.create(False)
    head, body = asyncio.run(instructions._drive_uvicorn(app, "/users/42/posts/hello", 3))
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-type: application/json" in head
    assert body == b'{"id":42,"slug":"hello"}'


def test_the_gunicorn_harness_serves_trellis_through_gunicorns_request_handling() -> None:
    pytest.importorskip("gunicorn")
    app = instructions.spec_named("Trellis", "wsgi").create(False)
    head, body = instructions._drive_gunicorn(app, "/users/42/posts/hello", 3)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Server: gunicorn" in head
    assert b"x-content-type-options: nosniff" in head
    assert body == b'{"id":42,"slug":"hello"}'


@pytest.mark.parametrize("protocol", ["wsgi", "asgi"])
def test_the_inprocess_child_checks_the_app_and_serves(protocol: str) -> None:
    instructions.serve_inprocess(instructions.spec_named("Trellis", protocol), "/json", 5)


def test_an_unknown_app_is_refused() -> None:
    with pytest.raises(SystemExit, match="no benchmark app"):
        instructions.spec_named("Nonesuch", "asgi")


def test_the_callgrind_total_is_read_from_its_report() -> None:
    report = b"==12== Events    : Ir\n==12== Collected : 123456789\n==12==\n"
    assert instructions.collected(report) == 123456789
    with pytest.raises(RuntimeError, match="no instruction count"):
        instructions.collected(b"valgrind: command not found")


def test_the_report_gives_thousands_and_the_multiple_of_raw() -> None:
    results = {
        ("raw ASGI", "asgi", "uvicorn", "plaintext"): 100_000.0,
        ("Trellis", "asgi", "uvicorn", "plaintext"): 125_000.0,
        ("raw WSGI", "wsgi", "inprocess", "json"): 10_000.0,
        ("Trellis", "wsgi", "inprocess", "json"): 30_000.0,
    }
    meta = {"date": "today", "python": "CPython 3.11", "command": "python -m bench.instructions"}
    text = instructions.render(results, meta)
    assert "| Trellis | ASGI | 125.0k (1.25x) |  |  |" in text
    assert "| raw ASGI | ASGI | 100.0k (1.00x) |  |  |" in text
    assert "| Trellis | WSGI |  | 30.0k (3.00x) |  |" in text
    assert text.index("## in process") < text.index("## behind uvicorn's protocol")


def test_every_benchmarked_app_can_be_named_for_a_child() -> None:
    for spec in APPS:
        assert instructions.spec_named(spec.name, spec.protocol) is spec
