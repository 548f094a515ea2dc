"""Specification of trellis.testing.TestClient, driven by hand-written raw WSGI and ASGI apps."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

import httpx
import pytest

from trellis.testing import LifespanError, TestClient

PROTOCOLS = ["wsgi", "asgi"]

# --------------------------------------------------------------------------------------------
# One tiny "application" shared by both protocols, behind a raw WSGI and a raw ASGI wrapper.
# --------------------------------------------------------------------------------------------

Reply = tuple[int, list[tuple[str, str]], Iterable[bytes]]


def handle(request: dict[str, Any]) -> Reply:
    path = request["path"]
    if path == "/boom":
        raise ValueError("boom before the response started")
    if path == "/boom-late":

        def explode() -> Iterator[bytes]:
            yield b"partial"
            raise ValueError("boom after the response started")

        return 200, [("Content-Type", "text/plain")], explode()
    if path == "/set-cookie":
        return 200, [("Set-Cookie", "session=abc123; Path=/")], [b"set"]
    if path == "/cookies":
        return (
            200,
            [("Content-Type", "text/plain")],
            [request["headers"].get("cookie", "").encode()],
        )
    if path == "/redirect":
        return 301, [("Location", "/echo")], [b""]
    if path.startswith("/status/"):
        return int(path.removeprefix("/status/")), [], [b""]
    if path == "/multi-header":
        return 200, [("X-Multi", "one"), ("X-Multi", "two")], [b"ok"]
    if path == "/chunks":
        return 200, [("Content-Type", "text/plain")], [b"a", b"", b"b", b"c"]
    echo = {
        "method": request["method"],
        "path": path,
        "raw_path": request["raw_path"],
        "query": request["query"],
        "headers": request["headers"],
        "body": request["body"].decode("latin-1"),
    }
    body = json.dumps(echo).encode()
    return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], [body]


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    headers: dict[str, str] = {
        key[5:].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    request = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"].encode("latin-1").decode("utf-8"),
        "raw_path": environ["RAW_URI"].partition("?")[0],
        "query": environ["QUERY_STRING"],
        "headers": headers,
        "body": environ["wsgi.input"].read(length),
    }
    status, response_headers, body = handle(request)
    start_response(f"{status} {HTTPStatus(status).phrase}", response_headers)
    return body


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"this app only speaks HTTP, not {scope['type']}")
    body = b""
    while True:
        message = await receive()
        body += message["body"]
        if not message["more_body"]:
            break
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        headers[key] = f"{headers[key]}, {value.decode()}" if key in headers else value.decode()
    request = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode("ascii"),
        "query": scope["query_string"].decode("ascii"),
        "headers": headers,
        "body": body,
    }
    status, response_headers, chunks = handle(request)
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in response_headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


APPS = {"wsgi": wsgi_app, "asgi": asgi_app}


def http_only(app: Any) -> Any:
    """Wrap a raw ASGI test app so that it rejects the lifespan scope, as the spec allows."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"this app only speaks HTTP, not {scope['type']}")
        await app(scope, receive, send)

    return wrapper


def portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "trellis-testclient-portal"]


@pytest.fixture(autouse=True)
def no_leaked_portal_threads() -> Iterator[None]:
    yield
    assert portal_threads() == []


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(protocol: str) -> Iterator[TestClient]:
    with TestClient(APPS[protocol], protocol) as test_client:  # type: ignore[arg-type]
        yield test_client


# --------------------------------------------------------------------------------------------
# Behaviour common to both protocols
# --------------------------------------------------------------------------------------------


def test_get_echoes_method_path_and_query(client: TestClient) -> None:
    response = client.get("/echo", params={"q": ["1", "2"], "name": "ü"})

    assert response.status_code == 200
    data = response.json()
    assert data["method"] == "GET"
    assert data["path"] == "/echo"
    assert data["query"] == "q=1&q=2&name=%C3%BC"


def test_post_json_body_reaches_the_app(client: TestClient) -> None:
    response = client.post("/echo", json={"title": "hello", "n": 3})

    data = response.json()
    assert data["method"] == "POST"
    assert json.loads(data["body"]) == {"title": "hello", "n": 3}
    assert data["headers"]["content-type"] == "application/json"


def test_post_large_body_arrives_whole(client: TestClient) -> None:
    payload = bytes(range(256)) * 1000  # several ASGI http.request messages

    response = client.post("/echo", content=payload)

    assert response.json()["body"].encode("latin-1") == payload


def test_post_form_with_file_is_sent_as_multipart(client: TestClient) -> None:
    response = client.post(
        "/echo", data={"title": "hi"}, files={"upload": ("notes.txt", b"file-bytes", "text/plain")}
    )

    data = response.json()
    assert data["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="title"' in data["body"]
    assert 'filename="notes.txt"' in data["body"]
    assert "file-bytes" in data["body"]


def test_request_with_custom_method_is_passed_through(client: TestClient) -> None:
    response = client.request("FOO", "/echo")

    assert response.json()["method"] == "FOO"


def test_host_header_is_testserver(client: TestClient) -> None:
    response = client.get("/echo")

    assert response.json()["headers"]["host"] == "testserver"


def test_repeated_request_header_reaches_app_with_all_values(client: TestClient) -> None:
    response = client.get("/echo", headers=[("X-Tag", "a"), ("X-Tag", "b")])

    assert response.json()["headers"]["x-tag"] == "a, b"


def test_repeated_response_header_keeps_all_values(client: TestClient) -> None:
    response = client.get("/multi-header")

    assert response.headers.get_list("x-multi") == ["one", "two"]


def test_response_body_chunks_are_joined_and_empty_chunks_skipped(client: TestClient) -> None:
    with client.stream("GET", "/chunks") as response:
        chunks = list(response.iter_raw())

    assert chunks == [b"a", b"b", b"c"]


def test_cookies_set_by_app_are_sent_back(client: TestClient) -> None:
    client.get("/set-cookie")

    response = client.get("/cookies")

    assert response.text == "session=abc123"


@pytest.mark.parametrize("status", [200, 201, 204, 404, 418, 500, 503])
def test_status_code_set_by_app_is_returned(client: TestClient, status: int) -> None:
    response = client.get(f"/status/{status}")

    assert response.status_code == status


def test_redirects_are_not_followed_by_default(client: TestClient) -> None:
    response = client.get("/redirect")

    assert response.status_code == 301
    assert response.headers["location"] == "/echo"


def test_redirect_is_followed_when_asked(client: TestClient) -> None:
    response = client.get("/redirect", follow_redirects=True)

    assert response.status_code == 200
    assert response.json()["path"] == "/echo"


def test_head_response_has_headers_but_no_body(client: TestClient) -> None:
    response = client.head("/echo")

    assert response.status_code == 200
    assert int(response.headers["content-length"]) > 0
    assert response.content == b""


def test_percent_encoded_path_is_decoded_and_raw_path_kept(client: TestClient) -> None:
    response = client.get("/files/a%2Fb%20c.txt")

    data = response.json()
    assert data["path"] == "/files/a/b c.txt"
    assert data["raw_path"] == "/files/a%2Fb%20c.txt"


def test_unicode_path_arrives_as_text(client: TestClient) -> None:
    response = client.get("/café/ü")

    data = response.json()
    assert data["path"] == "/café/ü"
    assert data["raw_path"] == "/caf%C3%A9/%C3%BC"


def test_exception_before_response_start_is_raised_in_test(client: TestClient) -> None:
    with pytest.raises(ValueError, match="before the response started"):
        client.get("/boom")


def test_exception_after_response_start_is_raised_in_test(client: TestClient) -> None:
    with pytest.raises(ValueError, match="after the response started"):
        client.get("/boom-late")


def test_exception_becomes_500_when_server_exceptions_are_not_raised(protocol: str) -> None:
    app = APPS[protocol]
    with TestClient(app, protocol, raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        response = client.get("/boom")

    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_exception_after_start_ends_stream_when_server_exceptions_are_not_raised(
    protocol: str,
) -> None:
    app = APPS[protocol]
    with TestClient(app, protocol, raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        response = client.get("/boom-late")

    assert response.status_code == 200
    assert response.content == b"partial"


def test_client_works_without_context_manager_and_closes_cleanly(protocol: str) -> None:
    client = TestClient(APPS[protocol], protocol)  # type: ignore[arg-type]
    try:
        assert client.get("/echo").status_code == 200
    finally:
        client.close()

    assert client.is_closed


def test_unknown_protocol_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="protocol must be 'wsgi' or 'asgi'"):
        TestClient(wsgi_app, "http2")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# WSGI specifics
# --------------------------------------------------------------------------------------------


def test_wsgi_path_info_is_utf8_bytes_decoded_as_latin1() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    with TestClient(app) as client:
        client.get("/café", params={"x": "1"})

    assert seen["PATH_INFO"] == "/caf\xc3\xa9"
    assert seen["QUERY_STRING"] == "x=1"
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["SERVER_NAME"] == "testserver"
    assert seen["SERVER_PORT"] == "80"
    assert seen["wsgi.url_scheme"] == "http"


def test_wsgi_header_with_underscore_is_dropped() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    with TestClient(app) as client:
        client.get("/", headers={"X_Forwarded_For": "6.6.6.6", "X-Real": "1"})

    assert "HTTP_X_FORWARDED_FOR" not in seen
    assert seen["HTTP_X_REAL"] == "1"


def test_wsgi_write_callable_output_is_part_of_the_body() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-")
        yield b"yielded"

    with TestClient(app) as client:
        response = client.get("/")

    assert response.text == "written-yielded"


def test_wsgi_response_streams_lazily() -> None:
    produced: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        for i in range(1000):
            produced.append(i)
            yield b"x"

    with TestClient(app) as client, client.stream("GET", "/") as response:
        first = next(response.iter_raw())

    assert first == b"x"
    assert len(produced) < 1000


def test_wsgi_iterable_close_is_called() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b"body"

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [])
        return Body()

    with TestClient(app) as client:
        response = client.get("/")

    assert response.text == "body"
    assert closed == [True]


def test_wsgi_exc_info_passed_to_start_response_is_raised() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            raise KeyError("missing")
        except KeyError:
            start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"error page"]

    with TestClient(app) as client, pytest.raises(KeyError, match="missing"):
        client.get("/")


def test_wsgi_context_manager_calls_app_startup_and_shutdown() -> None:
    events: list[str] = []

    class App:
        def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
            events.append("request")
            start_response("200 OK", [])
            return [b""]

        def startup(self) -> None:
            events.append("startup")

        def shutdown(self) -> None:
            events.append("shutdown")

    with TestClient(App()) as client:
        client.get("/")

    assert events == ["startup", "request", "shutdown"]


# --------------------------------------------------------------------------------------------
# ASGI specifics
# --------------------------------------------------------------------------------------------


def test_asgi_scope_is_a_complete_http_scope() -> None:
    seen: dict[str, Any] = {}

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with TestClient(app, "asgi") as client:
        client.get("/a%20b", params={"q": "1"}, headers={"X-Up": "Yes"})

    assert seen["type"] == "http"
    assert seen["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert seen["http_version"] == "1.1"
    assert seen["method"] == "GET"
    assert seen["scheme"] == "http"
    assert seen["path"] == "/a b"
    assert seen["raw_path"] == b"/a%20b"
    assert seen["query_string"] == b"q=1"
    assert seen["root_path"] == ""
    assert (b"host", b"testserver") in seen["headers"]
    assert (b"x-up", b"Yes") in seen["headers"]
    assert all(name == name.lower() for name, _ in seen["headers"])
    assert seen["client"] == ("127.0.0.1", 123)
    assert seen["server"] == ("testserver", 80)


def test_asgi_receive_after_body_waits_for_response_then_reports_disconnect() -> None:
    messages: list[dict[str, Any]] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        messages.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        messages.append(await receive())

    with TestClient(app, "asgi") as client:
        response = client.post("/", content=b"payload")

    assert response.text == "done"
    assert messages == [
        {"type": "http.request", "body": b"payload", "more_body": False},
        {"type": "http.disconnect"},
    ]


def endless_events_app(log: list[str]) -> Any:
    """An ASGI app streaming server-sent events forever, stopping only on disconnect."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        disconnected = asyncio.Event()

        async def watch_for_disconnect() -> None:
            while (message := await receive())["type"] != "http.disconnect":
                pass
            log.append(message["type"])
            disconnected.set()

        watcher = asyncio.create_task(watch_for_disconnect())
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        n = 0
        while not disconnected.is_set():
            await send(
                {"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True}
            )
            n += 1
            await asyncio.sleep(0)
        await watcher
        log.append("finished")

    return app


def test_asgi_endless_stream_can_be_read_partially_and_closed() -> None:
    log: list[str] = []

    with (
        TestClient(endless_events_app(log), "asgi") as client,
        client.stream("GET", "/events") as response,
    ):
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]

    assert response.headers["content-type"] == "text/event-stream"
    assert received == ["data: 0", "", "data: 1", "", "data: 2", ""]
    assert log == ["http.disconnect", "finished"]


def test_asgi_app_ignoring_disconnect_is_cancelled_after_stream_closes() -> None:
    log: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"tick", "more_body": True})
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    with TestClient(app, "asgi") as client, client.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"tick"

    assert log == ["cancelled"]


def test_asgi_fast_endless_stream_waits_for_a_slow_reader() -> None:
    sent: list[int] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
            sent.append(1)

    with TestClient(app, "asgi") as client, client.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"x"
        threading.Event().wait(0.05)  # give the app time to run ahead if it could
        sent_while_reading = len(sent)

    assert 1 <= sent_while_reading < 100


def test_asgi_app_returning_without_response_raises() -> None:
    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        return None

    with (
        TestClient(app, "asgi") as client,
        pytest.raises(RuntimeError, match=r"without sending 'http\.response\.start'"),
    ):
        client.get("/")


def test_asgi_body_before_start_is_an_error() -> None:
    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.body", "body": b"oops"})

    with (
        TestClient(app, "asgi") as client,
        pytest.raises(RuntimeError, match=r"before 'http\.response\.start'"),
    ):
        client.get("/")


def test_asgi_read_timeout_raises_and_cancels_the_app() -> None:
    log: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    with TestClient(app, "asgi") as client, pytest.raises(httpx.ReadTimeout):
        client.get("/", timeout=0.05)

    assert log == ["cancelled"]


def lifespan_app(log: list[str], *, fail_startup: bool = False, fail_shutdown: bool = False) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if fail_startup:
                        await send({"type": "lifespan.startup.failed", "message": "db is down"})
                        return
                    log.append("startup")
                    scope["state"]["greeting"] = "hello"
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if fail_shutdown:
                        await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})
                        return
                    log.append("shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        log.append(f"request {scope['state'].get('greeting')}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_asgi_lifespan_startup_and_shutdown_run_in_order() -> None:
    log: list[str] = []

    with TestClient(lifespan_app(log), "asgi") as client:
        assert log == ["startup"]
        client.get("/")

    assert log == ["startup", "request hello", "shutdown"]


def test_asgi_lifespan_startup_failure_raises_with_app_message() -> None:
    log: list[str] = []

    with (
        pytest.raises(LifespanError, match="db is down"),
        TestClient(lifespan_app(log, fail_startup=True), "asgi"),
    ):
        pytest.fail("the with-body must not run when startup fails")

    assert log == []


def test_asgi_lifespan_shutdown_failure_raises_with_app_message() -> None:
    log: list[str] = []

    with (
        pytest.raises(LifespanError, match="flush failed"),
        TestClient(lifespan_app(log, fail_shutdown=True), "asgi") as client,
    ):
        client.get("/")

    assert log == ["startup", "request hello"]


def test_asgi_app_rejecting_lifespan_still_serves_requests() -> None:
    with TestClient(asgi_app, "asgi") as client:  # asgi_app raises for the lifespan scope
        response = client.get("/echo")

    assert response.status_code == 200
    assert response.json()["path"] == "/echo"


def test_asgi_app_that_ignores_scope_type_still_serves_requests() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with TestClient(app, "asgi") as client:
        response = client.get("/")

    assert response.text == "ok"


def test_asgi_clients_do_not_share_event_loops() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        loops.append(asyncio.get_running_loop())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with TestClient(app, "asgi") as first, TestClient(app, "asgi") as second:
        first.get("/")
        second.get("/")
        first.get("/")

    assert loops[0] is loops[2]
    assert loops[0] is not loops[1]


def test_dashboards_load_without_httpx_and_the_test_client_says_what_it_needs() -> None:
    # httpx is a test-time dependency (trellis[dev]); a base install has no httpx.
    code = (
        "import sys\n"
        "sys.modules['httpx'] = None\n"
        "import trellis, trellis.dashboard\n"
        "try:\n"
        "    import trellis.testing\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "trellis.testing needs httpx" in result.stdout
