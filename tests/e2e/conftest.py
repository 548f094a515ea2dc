"""Fixtures that serve the example apps with real servers on 127.0.0.1.

Each (server, example) pair is started at most once per test session and stopped by its PID when
the session ends. A server that does not answer within STARTUP_TIMEOUT seconds fails the tests that
need it, with the server's own output in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from .browser import BROWSER_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS, running_in_ci
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


# -- a real browser (chromium): missing locally skips, missing under CI fails --


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`"
        if running_in_ci():
            pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        yield page
    finally:
        context.close()


@pytest.fixture
def script_errors(page: Page) -> list[str]:
    """JavaScript errors and console errors (a blocked script, a failed fetch) seen by `page`."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Browsers ask for /favicon.ico on their own, whenever they like; its 404 is no error
        # of the page (and would make these tests flaky).
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", on_console)
    return errors
