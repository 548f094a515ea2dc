"""Fixtures that serve the example apps with real servers on 127.0.0.1.

Each (server, example) pair is started at most once per test session and stopped by its PID when
the session ends. A server that does not answer within STARTUP_TIMEOUT seconds fails the tests that
need it, with the server's own output in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .servers import SERVERS, RunningServer, ServerFailedToStart, start_server


@pytest.fixture(scope="session")
def serve(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str, str], RunningServer]]:
    """Start `server` (one of SERVERS) on `examples/<example>/app.py`, once per session."""
    log_dir = tmp_path_factory.mktemp("server-logs")
    running: dict[tuple[str, str], RunningServer] = {}
    failures: dict[tuple[str, str], str] = {}

    def start(server: str, example: str) -> RunningServer:
        key = (server, example)
        if key in failures:
            pytest.fail(failures[key], pytrace=False)
        if key not in running:
            try:
                running[key] = start_server(server, example, log_dir)
            except ServerFailedToStart as error:
                failures[key] = str(error)
                pytest.fail(str(error), pytrace=False)
        return running[key]

    try:
        yield start
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture(params=SERVERS)
def server_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def hello_server(serve: Callable[[str, str], RunningServer], server_name: str) -> RunningServer:
    return serve(server_name, "hello")


@pytest.fixture
def ajax_server(serve: Callable[[str, str], RunningServer], server_name: str) -> RunningServer:
    return serve(server_name, "ajax")


@pytest.fixture
def books_server(serve: Callable[[str, str], RunningServer], server_name: str) -> RunningServer:
    return serve(server_name, "books")


@pytest.fixture(params=["uvicorn", "trellis"])
def live_server(
    serve: Callable[[str, str], RunningServer], request: pytest.FixtureRequest
) -> RunningServer:
    """The live example (SSE and WebSockets) under the ASGI servers only."""
    return serve(str(request.param), "live")
