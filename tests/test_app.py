"""Specification of the App: hooks, middleware, lifecycle, WSGI/ASGI wrapping, hosts, access log."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest

from trellis import App, ConfigurationError, HTTPError, Request, Response
from trellis.testing import LifespanError, TestClient

MakeClient = Callable[..., TestClient]
MiddlewareGen = Generator[None, Response, Any]


@pytest.fixture
def calls() -> list[str]:
    """What hooks, middleware and handlers did, in order."""
    return []


@pytest.fixture
def hello_app(app: App, calls: list[str]) -> App:
    """The `app` fixture with GET /hello (recorded in `calls`) and GET /boom (raises)."""

    @app.get("/hello")
    def hello() -> str:
        calls.append("handler")
        return "hello"

    @app.get("/boom")
    def boom() -> None:
        calls.append("handler")
        raise RuntimeError("boom")

    return app


@pytest.fixture
def hello_client(hello_app: App, make_client: MakeClient) -> TestClient:
    return make_client(hello_app)


# -- before_request ------------------------------------------------------------------------------


def test_before_request_runs_before_the_handler(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.before_request
    def before(request: Request) -> None:
        calls.append("before")

    assert hello_client.get("/hello").text == "hello"
    assert calls == ["before", "handler"]


def test_before_request_return_value_answers_early(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.before_request
    def deny(request: Request) -> tuple[str, int]:
        return "no entry", 403

    response = hello_client.get("/hello")

    assert response.status_code == 403
    assert response.text == "no entry"
    assert calls == []


def test_before_request_sees_route_and_path_params(app: App, client: TestClient) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    @app.before_request
    def record(request: Request) -> None:
        seen.append((request.route.path, dict(request.path_params)))

    @app.get("/users/{id:int}")
    def user(id: int) -> str:
        return str(id)

    client.get("/users/42")

    assert seen == [("/users/{id:int}", {"id": 42})]


def test_before_request_that_raises_is_500(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.before_request
    def broken(request: Request) -> None:
        raise RuntimeError("hook failed")

    response = hello_client.get("/hello")

    assert response.status_code == 500
    assert "hook failed" not in response.text
    assert calls == []


def test_before_request_http_error_keeps_its_status(
    hello_app: App, hello_client: TestClient
) -> None:
    @hello_app.before_request
    def login_required(request: Request) -> None:
        raise HTTPError(401, "Log in first.", {"WWW-Authenticate": "Bearer"})

    response = hello_client.get("/hello")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


# -- after_request -------------------------------------------------------------------------------


def test_after_request_can_modify_the_response(hello_app: App, hello_client: TestClient) -> None:
    @hello_app.after_request
    def stamp(request: Request, response: Response) -> None:
        response.headers["X-Stamp"] = "yes"

    response = hello_client.get("/hello")

    assert response.text == "hello"
    assert response.headers["x-stamp"] == "yes"


def test_after_request_can_replace_the_response(hello_app: App, hello_client: TestClient) -> None:
    @hello_app.after_request
    def replace(request: Request, response: Response) -> tuple[str, int]:
        return "replaced", 202

    response = hello_client.get("/hello")

    assert response.status_code == 202
    assert response.text == "replaced"


def test_after_request_runs_on_unexpected_error_responses(
    hello_app: App, hello_client: TestClient
) -> None:
    statuses: list[int] = []

    @hello_app.after_request
    def record(request: Request, response: Response) -> None:
        statuses.append(response.status)
        response.headers["X-Stamp"] = "yes"

    response = hello_client.get("/boom")

    assert statuses == [500]
    assert response.headers["x-stamp"] == "yes"


def test_after_request_runs_on_404(app: App, client: TestClient) -> None:
    statuses: list[int] = []

    @app.after_request
    def record(request: Request, response: Response) -> None:
        statuses.append(response.status)

    client.get("/missing")

    assert statuses == [404]


def test_after_request_that_raises_is_500(hello_app: App, hello_client: TestClient) -> None:
    @hello_app.after_request
    def broken(request: Request, response: Response) -> None:
        raise RuntimeError("after failed")

    response = hello_client.get("/hello")

    assert response.status_code == 500
    assert "after failed" not in response.text


# -- teardown ------------------------------------------------------------------------------------


def test_teardown_runs_after_every_request_with_the_request(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.teardown
    def cleanup(request: Request, exc: BaseException | None) -> None:
        calls.append(f"teardown {request.path}")

    hello_client.get("/hello")
    hello_client.get("/missing")

    assert calls == ["handler", "teardown /hello", "teardown /missing"]


def test_teardown_runs_when_the_handler_raised(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.teardown
    def cleanup(request: Request, exc: BaseException | None) -> None:
        calls.append("teardown")

    assert hello_client.get("/boom").status_code == 500
    assert calls == ["handler", "teardown"]


def test_teardown_receives_the_handler_exception(hello_app: App, hello_client: TestClient) -> None:
    errors: list[BaseException | None] = []

    @hello_app.teardown
    def cleanup(request: Request, exc: BaseException | None) -> None:
        errors.append(exc)

    hello_client.get("/hello")
    hello_client.get("/boom")

    assert errors[0] is None
    assert isinstance(errors[1], RuntimeError)


def test_teardown_that_raises_does_not_change_the_response(
    hello_app: App, hello_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @hello_app.teardown
    def broken(request: Request, exc: BaseException | None) -> None:
        raise RuntimeError("teardown failed")

    response = hello_client.get("/hello")

    assert response.status_code == 200
    assert response.text == "hello"
    assert any("Teardown hook" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kind", ["before_request", "after_request", "teardown"])
def test_async_hooks_are_refused_at_registration(app: App, kind: str) -> None:
    async def hook(*args: Any) -> None:
        return None

    with pytest.raises(ConfigurationError, match="async"):
        getattr(app, kind)(hook)


# -- middleware ----------------------------------------------------------------------------------


def test_first_middleware_added_is_outermost(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.middleware
    def outer(request: Request) -> MiddlewareGen:
        calls.append("outer before")
        yield
        calls.append("outer after")

    @hello_app.middleware
    def inner(request: Request) -> MiddlewareGen:
        calls.append("inner before")
        yield
        calls.append("inner after")

    hello_client.get("/hello")

    assert calls == ["outer before", "inner before", "handler", "inner after", "outer after"]


def test_middleware_gets_the_response_from_yield(hello_app: App, hello_client: TestClient) -> None:
    seen: list[bytes] = []

    @hello_app.middleware
    def peek(request: Request) -> MiddlewareGen:
        response = yield
        seen.append(response.body)

    hello_client.get("/hello")

    assert seen == [b"hello"]


def test_middleware_can_answer_before_yield(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.middleware
    def outer(request: Request) -> MiddlewareGen:
        response = yield
        response.headers["X-Outer"] = "seen"

    @hello_app.middleware
    def gate(request: Request) -> MiddlewareGen:
        if request.path == "/hello":
            return "<p>Closed</p>", 503
        yield

    response = hello_client.get("/hello")

    assert response.status_code == 503
    assert response.text == "<p>Closed</p>"
    assert response.headers["x-outer"] == "seen"
    assert calls == []


def test_middleware_can_modify_the_response_after_yield(
    hello_app: App, hello_client: TestClient
) -> None:
    @hello_app.middleware
    def stamp(request: Request) -> MiddlewareGen:
        response = yield
        response.headers["X-Stamp"] = "mw"
        response.status = 201

    response = hello_client.get("/hello")

    assert response.status_code == 201
    assert response.headers["x-stamp"] == "mw"
    assert response.text == "hello"


def test_middleware_can_replace_the_response_with_return(
    hello_app: App, hello_client: TestClient
) -> None:
    @hello_app.middleware
    def replace(request: Request) -> MiddlewareGen:
        yield
        return {"replaced": True}

    response = hello_client.get("/hello")

    assert response.json() == {"replaced": True}


def test_middleware_raising_before_yield_is_500_seen_by_outer(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    statuses: list[int] = []

    @hello_app.middleware
    def outer(request: Request) -> MiddlewareGen:
        response = yield
        statuses.append(response.status)

    @hello_app.middleware
    def broken(request: Request) -> MiddlewareGen:
        raise RuntimeError("middleware failed")
        yield

    response = hello_client.get("/hello")

    assert response.status_code == 500
    assert "middleware failed" not in response.text
    assert statuses == [500]
    assert calls == []


def test_middleware_raising_after_yield_is_500(
    hello_app: App, hello_client: TestClient, calls: list[str]
) -> None:
    @hello_app.middleware
    def broken(request: Request) -> MiddlewareGen:
        yield
        raise RuntimeError("middleware failed")

    response = hello_client.get("/hello")

    assert response.status_code == 500
    assert "middleware failed" not in response.text
    assert calls == ["handler"]


def test_middleware_that_yields_twice_is_500(
    hello_app: App, hello_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @hello_app.middleware
    def greedy(request: Request) -> MiddlewareGen:
        yield
        yield

    response = hello_client.get("/hello")

    assert response.status_code == 500
    logged = [str(r.exc_info[1]) for r in caplog.records if r.exc_info is not None]
    assert any("yielded more than once" in message for message in logged)


def test_non_generator_middleware_is_refused_with_a_clear_message(app: App) -> None:
    def plain(request: Request) -> None:
        return None

    with pytest.raises(ConfigurationError, match=r"must be a generator function.*yield"):
        app.middleware(plain)


def test_middleware_sees_404_and_500_responses(hello_app: App, hello_client: TestClient) -> None:
    statuses: list[int] = []

    @hello_app.middleware
    def record(request: Request) -> MiddlewareGen:
        response = yield
        statuses.append(response.status)

    hello_client.get("/missing")
    hello_client.get("/boom")

    assert statuses == [404, 500]


# -- startup and shutdown ------------------------------------------------------------------------


def _lifecycle_app(events: list[str]) -> App:
    app = App(settings={})

    @app.on_startup
    def sync_start() -> None:
        events.append("sync start")

    @app.on_startup
    async def async_start() -> None:
        events.append("async start")

    @app.on_shutdown
    def sync_stop() -> None:
        events.append("sync stop")

    @app.on_shutdown
    async def async_stop() -> None:
        events.append("async stop")

    @app.get("/")
    def index() -> str:
        events.append("request")
        return "ok"

    return app


def test_startup_hooks_run_once_on_client_enter(protocol: str) -> None:
    events: list[str] = []
    app = _lifecycle_app(events)

    with TestClient(app, protocol=protocol) as client:
        assert events == ["sync start", "async start"]
        client.get("/")
        client.get("/")

    assert events[:4] == ["sync start", "async start", "request", "request"]


def test_shutdown_hooks_run_once_in_reverse_order_on_client_exit(protocol: str) -> None:
    events: list[str] = []
    app = _lifecycle_app(events)

    with TestClient(app, protocol=protocol) as client:
        client.get("/")

    assert events == ["sync start", "async start", "request", "async stop", "sync stop"]


def test_failing_startup_raises_at_client_enter_under_asgi() -> None:
    app = App(settings={})

    @app.on_startup
    def broken() -> None:
        raise RuntimeError("database unreachable")

    client = TestClient(app, protocol="asgi")

    with pytest.raises(LifespanError, match="database unreachable"):
        client.__enter__()


def test_failing_startup_raises_at_client_enter_under_wsgi() -> None:
    app = App(settings={})

    @app.on_startup
    def broken() -> None:
        raise RuntimeError("database unreachable")

    client = TestClient(app, protocol="wsgi")

    with pytest.raises(RuntimeError, match="database unreachable"):
        client.__enter__()


def test_first_request_runs_startup_when_not_started(protocol: str) -> None:
    events: list[str] = []
    app = _lifecycle_app(events)
    client = TestClient(app, protocol=protocol)
    try:
        client.get("/")
        client.get("/")
    finally:
        client.close()
        app.shutdown()

    assert events[:4] == ["sync start", "async start", "request", "request"]


# -- raw ASGI / WSGI middleware ------------------------------------------------------------------


class AddHeaderASGI:
    """A standard raw ASGI middleware that adds a header to every HTTP response."""

    def __init__(self, app: Any, value: str = "asgi") -> None:
        self.app = app
        self.value = value.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-wrap", self.value)]}
            await send(message)

        await self.app(scope, receive, send_with_header)


class AddHeaderWSGI:
    """A standard WSGI middleware that adds a header to every response."""

    def __init__(self, app: Any, value: str = "wsgi") -> None:
        self.app = app
        self.value = value

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        def start_with_header(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("x-wrap", self.value)], exc_info)

        return self.app(environ, start_with_header)  # type: ignore[no-any-return]


def test_wrap_asgi_applies_raw_asgi_middleware(
    hello_app: App, make_client: MakeClient, protocol: str
) -> None:
    hello_app.wrap_asgi(AddHeaderASGI, value="yes")

    response = make_client(hello_app).get("/hello")

    assert response.text == "hello"
    assert response.headers.get("x-wrap") == ("yes" if protocol == "asgi" else None)


def test_wrap_wsgi_applies_raw_wsgi_middleware(
    hello_app: App, make_client: MakeClient, protocol: str
) -> None:
    hello_app.wrap_wsgi(AddHeaderWSGI, value="yes")

    response = make_client(hello_app).get("/hello")

    assert response.text == "hello"
    assert response.headers.get("x-wrap") == ("yes" if protocol == "wsgi" else None)


def test_app_is_a_plain_asgi_app_for_third_party_middleware() -> None:
    events: list[str] = []
    app = _lifecycle_app(events)

    with TestClient(AddHeaderASGI(app), protocol="asgi") as client:
        response = client.get("/")

    assert response.text == "ok"
    assert response.headers["x-wrap"] == "asgi"
    assert events == ["sync start", "async start", "request", "async stop", "sync stop"]


def test_app_is_a_plain_wsgi_app_for_third_party_middleware() -> None:
    app = _lifecycle_app([])
    client = TestClient(AddHeaderWSGI(app), protocol="wsgi")
    try:
        response = client.get("/")
    finally:
        client.close()
        app.shutdown()

    assert response.text == "ok"
    assert response.headers["x-wrap"] == "wsgi"


@pytest.mark.parametrize("args", [(), ("one",), ("a", "b", "c", "d")])
def test_calling_app_with_wrong_number_of_arguments_is_type_error(
    app: App, args: tuple[str, ...]
) -> None:
    with pytest.raises(TypeError, match=rf"WSGI app.*ASGI app; got {len(args)} arguments"):
        app(*args)


# -- allowed hosts -------------------------------------------------------------------------------


@pytest.fixture
def hosts_client(make_client: MakeClient) -> TestClient:
    """A client for an app that serves example.com and example.org with its subdomains."""
    app = App(settings={"ALLOWED_HOSTS": "example.com,.example.org"})

    @app.get("/")
    def index() -> str:
        return "ok"

    return make_client(app)


@pytest.mark.parametrize(
    "host", ["example.com", "example.com:8000", "EXAMPLE.com", "a.example.org", "example.org"]
)
def test_allowed_host_is_served(hosts_client: TestClient, host: str) -> None:
    response = hosts_client.get("/", headers={"Host": host})

    assert response.status_code == 200
    assert response.text == "ok"


@pytest.mark.parametrize(
    "host",
    ["evil.com", "example.com.evil.com", "[::1]", "[::1]:8000", "notexample.org", "example.co"],
)
def test_disallowed_host_is_400(hosts_client: TestClient, host: str) -> None:
    response = hosts_client.get("/", headers={"Host": host})

    assert response.status_code == 400
    assert response.text != "ok"


@pytest.mark.parametrize(
    "host",
    [
        "evil.com/.example.org",
        "evil.com#.example.org",
        "evil.com?.example.org",
        "example.com:@evil.com",
        "example.com:80@evil.com",
        "example.com:port",
    ],
)
def test_malformed_host_that_looks_allowed_is_400(hosts_client: TestClient, host: str) -> None:
    # URL parsers read these as evil.com: http://evil.com/.example.org, http://example.com:@evil.com
    assert hosts_client.get("/", headers={"Host": host}).status_code == 400


def test_disallowed_host_is_400_even_for_unknown_paths(hosts_client: TestClient) -> None:
    assert hosts_client.get("/missing", headers={"Host": "evil.com"}).status_code == 400


def test_host_decisions_hold_on_repeat_and_past_the_accepted_cache(
    hosts_client: TestClient,
) -> None:
    # Accepted hosts are remembered (a bounded cache); refused ones never are.
    for _ in range(2):
        assert hosts_client.get("/", headers={"Host": "evil.com"}).status_code == 400
        assert hosts_client.get("/", headers={"Host": "example.com"}).status_code == 200
    for i in range(300):
        assert hosts_client.get("/", headers={"Host": f"s{i}.example.org"}).status_code == 200
    assert hosts_client.get("/", headers={"Host": "s299.example.org"}).status_code == 200
    assert hosts_client.get("/", headers={"Host": "evil.com"}).status_code == 400


def test_default_settings_allow_any_host(app: App, client: TestClient) -> None:
    @app.get("/")
    def index() -> str:
        return "ok"

    assert client.get("/", headers={"Host": "anything.invalid"}).status_code == 200


# -- access log ----------------------------------------------------------------------------------


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "trellis.access"]


def test_access_log_has_one_line_per_request(
    hello_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trellis.access")

    hello_client.get("/hello", headers={"X-Request-ID": "req-123"})
    hello_client.get("/missing")

    lines = _access_lines(caplog)
    assert len(lines) == 2
    assert re.match(r"GET /hello 200 \S+ms id=req-123$", lines[0])
    assert re.match(r"GET /missing 404 \S+ms id=[0-9a-f]{16}$", lines[1])


def test_access_log_ignores_hostile_request_ids(
    hello_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trellis.access")

    hello_client.get("/hello", headers={"X-Request-ID": "x y\tINFO fake=line"})

    [line] = _access_lines(caplog)
    assert "fake" not in line
    assert re.search(r"id=[0-9a-f]{16}$", line)


def test_access_log_never_contains_cookies_or_authorization(
    hello_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trellis.access")

    hello_client.get(
        "/hello",
        headers={"Authorization": "Bearer tok-SECRET-1", "Cookie": "session=cookie-SECRET-2"},
    )

    [line] = _access_lines(caplog)
    assert "GET /hello 200" in line
    assert "SECRET" not in caplog.text
    assert "SECRET" not in line


def test_access_log_is_silent_below_info(
    hello_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="trellis.access")

    hello_client.get("/hello")

    assert _access_lines(caplog) == []
