"""Response classes over HTTP: bodies, media types, JSON, redirects, streaming, cookies, header
injection (refused), and the framing rules (Content-Length, 204/304). Every HTTP test runs under
WSGI and ASGI."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

from trellis import (
    App,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Request,
    Response,
    StreamingResponse,
)
from trellis.testing import TestClient

ClientFactory = Callable[..., TestClient]


def cookie_attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    """('name=value', {lower-case attribute: value}) from one Set-Cookie header value."""
    pair, *attributes = (part.strip() for part in set_cookie.split(";"))
    parsed = {}
    for attribute in attributes:
        name, _, value = attribute.partition("=")
        parsed[name.lower()] = value
    return pair, parsed


def served(app: App, path: str, response: Callable[[], Response]) -> None:
    """Register GET `path` answering what `response()` builds."""
    app.add_route(path, response, ("GET",), name=path)


# -- each response class -------------------------------------------------------------------------


def test_response_with_str_content_is_utf8(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response("héllo", media_type="text/plain; charset=utf-8"))

    response = client.get("/r")

    assert response.content == "héllo".encode()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("content", "given", "sent"),
    [
        ("a,b", "text/csv", "text/csv; charset=utf-8"),
        ("<p>", "text/html", "text/html; charset=utf-8"),
        ("a", "text/plain; charset=latin-1", "text/plain; charset=latin-1"),
        ("{}", "application/json", "application/json"),
        (b"a,b", "text/csv", "text/csv"),
    ],
)
def test_str_content_with_a_text_type_says_its_charset(
    app: App, client: TestClient, content: str | bytes, given: str, sent: str
) -> None:
    served(app, "/r", lambda: Response(content, media_type=given))

    assert client.get("/r").headers["content-type"] == sent


def test_response_with_bytes_content_is_sent_as_is(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response(b"\x00\xff\x10", media_type="application/x-thing"))

    response = client.get("/r")

    assert response.content == b"\x00\xff\x10"
    assert response.headers["content-type"] == "application/x-thing"


def test_response_without_media_type_has_no_content_type(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response(b"raw"))

    response = client.get("/r")

    assert "content-type" not in response.headers


def test_response_status_and_custom_headers(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response(b"made", status=201, headers={"X-Thing": "yes"}))

    response = client.get("/r")

    assert response.status_code == 201
    assert response.headers["x-thing"] == "yes"


def test_html_response_is_text_html_utf8(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: HTMLResponse("<p>é</p>"))

    response = client.get("/r")

    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>é</p>"


def test_plain_text_response_is_text_plain_utf8(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: PlainTextResponse("plain ✓"))

    response = client.get("/r")

    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "plain ✓"


def test_json_response_is_application_json(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: JSONResponse({"a": [1, 2.5, None, True], "é": "ü"}))

    response = client.get("/r")

    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"a": [1, 2.5, None, True], "é": "ü"}


def test_json_response_renders_datetime_and_uuid(app: App, client: TestClient) -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    moment = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    served(app, "/r", lambda: JSONResponse({"id": ident, "at": moment, "day": date(2024, 5, 6)}))

    response = client.get("/r")

    assert response.json() == {
        "id": "12345678-1234-5678-1234-567812345678",
        "at": "2024-05-06T07:08:09+00:00",
        "day": "2024-05-06",
    }


@dataclasses.dataclass
class Point:
    x: int
    y: int


class User(pydantic.BaseModel):
    name: str
    joined: datetime


def test_json_response_renders_a_dataclass(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: JSONResponse({"p": Point(1, 2)}))

    assert client.get("/r").json() == {"p": {"x": 1, "y": 2}}


def test_json_response_renders_a_pydantic_model(app: App, client: TestClient) -> None:
    user = User(name="ada", joined=datetime(2024, 1, 2, tzinfo=UTC))
    served(app, "/r", lambda: JSONResponse([user]))

    assert client.get("/r").json() == [{"name": "ada", "joined": "2024-01-02T00:00:00Z"}]


def test_json_response_renders_a_set_as_a_list(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: JSONResponse({"tags": {"b", "a"}, "frozen": frozenset({1})}))

    body = client.get("/r").json()

    assert sorted(body["tags"]) == ["a", "b"]
    assert body["frozen"] == [1]


def test_json_response_refuses_an_unknown_type_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match="object"):
        JSONResponse({"x": object()})


def test_unserialisable_json_in_a_handler_is_a_500(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: JSONResponse({"x": object()}))

    response = client.get("/r")

    assert response.status_code == 500
    assert "object" not in response.text  # no internals leaked outside debug mode


# -- redirects -----------------------------------------------------------------------------------


def test_redirect_is_307_by_default(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: RedirectResponse("/target?x=1"))

    response = client.get("/r")

    assert response.status_code == 307
    assert response.headers["location"] == "/target?x=1"
    assert response.content == b""


def test_redirect_after_a_form_post_can_be_303(app: App, client: TestClient) -> None:
    @app.post("/form")
    def form() -> Response:
        return RedirectResponse("/done", status=303)

    response = client.post("/form", data={"a": "1"})

    assert response.status_code == 303
    assert response.headers["location"] == "/done"


def test_redirect_location_quotes_spaces_and_unicode(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: RedirectResponse("/a b/café?q=x y#frag"))

    response = client.get("/r")

    assert response.headers["location"] == "/a%20b/caf%C3%A9?q=x%20y#frag"


def test_redirect_location_keeps_existing_percent_escapes(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: RedirectResponse("https://example.com/a%2Fb?next=%2Fhome"))

    response = client.get("/r")

    assert response.headers["location"] == "https://example.com/a%2Fb?next=%2Fhome"


def test_redirect_is_followed_by_the_client(app: App, make_client: ClientFactory) -> None:
    served(app, "/r", lambda: RedirectResponse("/target"))
    served(app, "/target", lambda: PlainTextResponse("arrived"))
    client = make_client(app, follow_redirects=True)

    assert client.get("/r").text == "arrived"


@pytest.mark.parametrize("status", [200, 204, 299, 400, 404, 500])
def test_redirect_with_a_non_3xx_status_is_refused(status: int) -> None:
    with pytest.raises(ValueError, match="3xx"):
        RedirectResponse("/x", status=status)


# -- streaming -----------------------------------------------------------------------------------


def test_streaming_from_a_sync_generator(app: App, client: TestClient) -> None:
    def numbers() -> Iterator[bytes]:
        for i in range(5):
            yield str(i).encode()

    served(app, "/s", lambda: StreamingResponse(numbers(), media_type="text/plain"))

    response = client.get("/s")

    assert response.status_code == 200
    assert response.content == b"01234"
    assert response.headers["content-type"] == "text/plain"


def test_streaming_from_an_async_generator(app: App, client: TestClient) -> None:
    async def numbers() -> AsyncIterator[bytes]:
        for i in range(5):
            await asyncio.sleep(0)
            yield str(i).encode()

    served(app, "/s", lambda: StreamingResponse(numbers()))

    response = client.get("/s")

    assert response.content == b"01234"
    assert response.headers["content-type"] == "application/octet-stream"


def test_streaming_str_chunks_are_utf8_encoded(app: App, client: TestClient) -> None:
    served(app, "/s", lambda: StreamingResponse(iter(["é", "t", "é"]), media_type="text/plain"))

    assert client.get("/s").content == "été".encode()


def test_streaming_async_str_chunks_are_utf8_encoded(app: App, client: TestClient) -> None:
    async def words() -> AsyncIterator[str]:
        yield "ünï"
        yield "cødé"

    served(app, "/s", lambda: StreamingResponse(words()))

    assert client.get("/s").content == "ünïcødé".encode()


def test_streaming_from_an_async_handler(app: App, client: TestClient) -> None:
    @app.get("/s")
    async def stream() -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"
            await asyncio.sleep(0.001)
            yield b"b"

        return StreamingResponse(chunks())

    assert client.get("/s").content == b"ab"


def test_head_on_a_streaming_route_sends_headers_only(app: App, client: TestClient) -> None:
    produced: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"one", b"two"):
            produced.append(chunk)
            yield chunk

    served(app, "/s", lambda: StreamingResponse(chunks(), headers={"X-Kind": "stream"}))

    response = client.head("/s")

    assert response.status_code == 200
    assert response.headers["x-kind"] == "stream"
    assert response.content == b""
    assert produced == []


def test_head_on_an_async_streaming_route_does_not_run_the_generator(
    app: App, client: TestClient
) -> None:
    events: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        events.append("started")
        yield b"x"

    served(app, "/s", lambda: StreamingResponse(chunks(), media_type="text/plain"))

    response = client.head("/s")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.content == b""
    assert events == []


def endless_sync(events: list[str]) -> Iterator[bytes]:
    # The pause keeps the generator busy in a worker thread when the client goes away (ASGI).
    try:
        while True:
            events.append("chunk")
            yield b"x" * 100
            time.sleep(0.05)
    finally:
        events.append("finally")


async def endless_async(events: list[str]) -> AsyncIterator[bytes]:
    try:
        while True:
            events.append("chunk")
            yield b"x" * 100
            await asyncio.sleep(0.001)
    finally:
        events.append("finally")


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_sync_stream_closed_early_by_the_client_runs_its_finally(
    app: App, client: TestClient
) -> None:
    events: list[str] = []
    served(app, "/s", lambda: StreamingResponse(endless_sync(events)))

    with client.stream("GET", "/s") as response:
        first = next(response.iter_bytes())

    assert first.startswith(b"x")
    assert wait_for(lambda: "finally" in events)


def test_async_stream_closed_early_by_the_client_runs_its_finally(
    app: App, client: TestClient
) -> None:
    events: list[str] = []
    served(app, "/s", lambda: StreamingResponse(endless_async(events)))

    with client.stream("GET", "/s") as response:
        first = next(response.iter_bytes())

    assert first.startswith(b"x")
    assert wait_for(lambda: "finally" in events)


def test_stream_closed_early_is_torn_down(app: App, client: TestClient) -> None:
    torn_down = threading.Event()

    @app.teardown
    def done(request: Request, error: BaseException | None) -> None:
        torn_down.set()

    served(app, "/s", lambda: StreamingResponse(endless_async([])))

    with client.stream("GET", "/s") as response:
        next(response.iter_bytes())

    assert torn_down.wait(2)


# -- cookies -------------------------------------------------------------------------------------


def cookie_route(app: App, **options: Any) -> None:
    """GET /set answers with one cookie `name=value` set with `options`."""

    def set_cookie() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("name", "value", **options)
        return response

    served(app, "/set", set_cookie)


def test_cookie_defaults_are_httponly_samesite_lax_path_root(app: App, client: TestClient) -> None:
    cookie_route(app)

    pair, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert pair == "name=value"
    assert attributes == {"httponly": "", "samesite": "Lax", "path": "/"}


def test_cookie_is_not_secure_over_http(app: App, client: TestClient) -> None:
    cookie_route(app)

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert "secure" not in attributes


def test_cookie_is_secure_over_https(app: App, make_client: ClientFactory) -> None:
    cookie_route(app)
    client = make_client(app, base_url="https://testserver")

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert "secure" in attributes


def test_cookie_is_secure_with_the_secure_cookies_setting(make_client: ClientFactory) -> None:
    app = App(settings={"SECURE_COOKIES": "true"})
    cookie_route(app)
    client = make_client(app)

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert "secure" in attributes


def test_cookie_secure_false_overrides_https(app: App, make_client: ClientFactory) -> None:
    cookie_route(app, secure=False)
    client = make_client(app, base_url="https://testserver")

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert "secure" not in attributes


def test_cookie_secure_behind_a_trusted_tls_proxy(make_client: ClientFactory) -> None:
    app = App(settings={"TRUSTED_PROXIES": "127.0.0.1"})
    cookie_route(app)
    client = make_client(app)

    response = client.get("/set", headers={"X-Forwarded-Proto": "https"})

    assert "secure" in cookie_attributes(response.headers["set-cookie"])[1]


def test_cookie_max_age_expires_and_domain(app: App, client: TestClient) -> None:
    cookie_route(
        app,
        max_age=3600,
        expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        domain="example.com",
        path="/app",
    )

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert attributes["max-age"] == "3600"
    assert attributes["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert attributes["domain"] == "example.com"
    assert attributes["path"] == "/app"


def test_cookie_expires_in_another_time_zone_is_sent_in_gmt(app: App, client: TestClient) -> None:
    cookie_route(app, expires=datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))))

    response = client.get("/set")

    assert response.status_code == 200
    assert cookie_attributes(response.headers["set-cookie"])[1]["expires"] == (
        "Wed, 02 Jan 2030 03:04:05 GMT"
    )


def test_cookie_samesite_strict_and_httponly_off(app: App, client: TestClient) -> None:
    cookie_route(app, samesite="strict", httponly=False)

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert attributes["samesite"] == "Strict"
    assert "httponly" not in attributes


def test_cookie_samesite_none_without_secure_is_refused() -> None:
    with pytest.raises(ValueError, match="Secure"):
        Response().set_cookie("a", "b", samesite="none", secure=False)


def test_cookie_samesite_none_over_http_is_still_secure(app: App, client: TestClient) -> None:
    # Browsers drop SameSite=None cookies that are not Secure, so None must never go out bare.
    cookie_route(app, samesite="none")

    _, attributes = cookie_attributes(client.get("/set").headers["set-cookie"])

    assert attributes["samesite"] == "None"
    assert "secure" in attributes


def test_delete_cookie_expires_it_now(app: App, client: TestClient) -> None:
    def delete() -> Response:
        response = PlainTextResponse("bye")
        response.delete_cookie("session", path="/app", domain="example.com")
        return response

    served(app, "/delete", delete)

    pair, attributes = cookie_attributes(client.get("/delete").headers["set-cookie"])

    assert pair in ('session=""', "session=")
    assert attributes["max-age"] == "0"
    assert attributes["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert (attributes["path"], attributes["domain"]) == ("/app", "example.com")


def test_delete_cookie_works_when_the_local_time_zone_is_not_utc(
    app: App, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def delete() -> Response:
        response = PlainTextResponse("bye")
        response.delete_cookie("session")
        return response

    served(app, "/delete", delete)
    monkeypatch.setenv("TZ", "EST+05EDT,M3.2.0,M11.1.0")
    time.tzset()
    try:
        response = client.get("/delete")
    finally:
        monkeypatch.undo()
        time.tzset()

    assert response.status_code == 200
    assert cookie_attributes(response.headers["set-cookie"])[1]["expires"] == (
        "Thu, 01 Jan 1970 00:00:00 GMT"
    )


def test_deleted_cookie_is_dropped_by_the_client(app: App, client: TestClient) -> None:
    cookie_route(app)

    def delete() -> Response:
        response = PlainTextResponse("bye")
        response.delete_cookie("name")
        return response

    served(app, "/delete", delete)
    client.get("/set")
    assert client.cookies.get("name") == "value"

    client.get("/delete")

    assert client.cookies.get("name") is None


def test_cookie_value_with_semicolon_and_spaces_round_trips(app: App, client: TestClient) -> None:
    value = 'a; b c "d" \\ e,f'

    def set_cookie() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("note", value)
        return response

    @app.get("/read")
    def read(request: Request) -> dict[str, str]:
        return request.cookies

    served(app, "/set", set_cookie)

    header = client.get("/set").headers["set-cookie"]

    assert header.startswith('note="')  # quoted, so the ';' cannot end the value
    assert client.get("/read").json() == {"note": value}


def test_several_cookies_give_several_set_cookie_headers(app: App, client: TestClient) -> None:
    def two() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    served(app, "/two", two)

    headers = client.get("/two").headers.get_list("set-cookie")

    assert [cookie_attributes(h)[0] for h in headers] == ["a=1", "b=2"]


@pytest.mark.parametrize("name", ["a;b", "a=b", "a,b", "a\tb", "é"])
def test_cookie_with_an_illegal_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        Response().set_cookie(name, "v")


def test_cookie_with_an_illegal_name_in_a_handler_is_a_clean_500(
    app: App, client: TestClient
) -> None:
    def bad() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("a;b", "v")
        return response

    served(app, "/bad", bad)

    response = client.get("/bad")

    assert response.status_code == 500
    assert "set-cookie" not in response.headers


# -- SECURITY: header injection ------------------------------------------------------------------


def test_header_value_with_crlf_set_on_headers_is_refused() -> None:
    response = Response()

    with pytest.raises(ValueError, match="CR, LF"):
        response.headers["X"] = "a\r\nSet-Cookie: x=1"


def test_header_value_with_lf_in_the_constructor_is_refused() -> None:
    with pytest.raises(ValueError, match="CR, LF"):
        Response(headers={"X": "a\nb"})


def test_header_value_with_lone_cr_is_refused() -> None:
    with pytest.raises(ValueError):
        Response(headers={"X": "a\rb"})


def test_header_name_with_crlf_is_refused() -> None:
    with pytest.raises(ValueError):
        Response().headers["X-A\r\nSet-Cookie"] = "x=1"


def test_header_added_with_crlf_is_refused() -> None:
    with pytest.raises(ValueError):
        Response().headers.add("Link", "</a>\r\nSet-Cookie: x=1")


def test_cookie_value_with_crlf_is_refused() -> None:
    with pytest.raises(ValueError):
        Response().set_cookie("a", "b\r\nc")


@pytest.mark.parametrize("field", ["path", "domain"])
def test_cookie_attribute_with_crlf_is_refused(field: str) -> None:
    with pytest.raises(ValueError):
        Response().set_cookie("a", "b", **{field: "/x\r\nSet-Cookie: evil=1"})


def test_cookie_attribute_with_semicolon_is_refused() -> None:
    # "; Domain=evil.example" smuggled through the path would add a cookie attribute.
    with pytest.raises(ValueError):
        Response().set_cookie("a", "b", path="/; Domain=evil.example")


def test_redirect_to_a_url_with_crlf_is_refused() -> None:
    with pytest.raises(ValueError):
        RedirectResponse("/x\r\nSet-Cookie: a=1")


def test_redirect_to_a_url_with_crlf_never_injects_a_header(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: RedirectResponse("/x\r\nSet-Cookie: a=1"))

    response = client.get("/r")

    assert "set-cookie" not in response.headers
    assert "\n" not in response.headers.get("location", "")


def test_injected_header_in_a_handler_is_a_500_without_the_header(
    app: App, client: TestClient
) -> None:
    @app.get("/inject")
    def inject(request: Request) -> Response:
        response = PlainTextResponse("ok")
        response.headers["X-Echo"] = request.query["v"]
        return response

    response = client.get("/inject", params={"v": "a\r\nSet-Cookie: x=1"})

    assert response.status_code == 500
    assert "set-cookie" not in response.headers
    assert "x-echo" not in response.headers


def test_injected_header_in_the_constructor_in_a_handler_is_a_500(
    app: App, client: TestClient
) -> None:
    served(app, "/inject", lambda: Response(b"", headers={"X": "a\nSet-Cookie: x=1"}))

    response = client.get("/inject")

    assert response.status_code == 500
    assert "set-cookie" not in response.headers
    assert "x" not in response.headers


def test_injected_cookie_value_in_a_handler_is_a_500(app: App, client: TestClient) -> None:
    def inject() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("a", "b\r\nSet-Cookie: evil=1")
        return response

    served(app, "/inject", inject)

    response = client.get("/inject")

    assert response.status_code == 500
    assert "set-cookie" not in response.headers


def test_injected_cookie_path_in_a_handler_never_reaches_the_wire(
    app: App, client: TestClient
) -> None:
    def inject() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("a", "b", path="/\r\nSet-Cookie: evil=1")
        return response

    served(app, "/inject", inject)

    response = client.get("/inject")

    assert response.status_code == 500
    assert all("evil" not in value for value in response.headers.get_list("set-cookie"))


def test_header_tuple_from_a_handler_with_crlf_is_a_500(app: App, client: TestClient) -> None:
    @app.get("/inject")
    def inject() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"X": "a\r\nSet-Cookie: x=1"}

    response = client.get("/inject")

    assert response.status_code == 500
    assert "set-cookie" not in response.headers


def test_non_latin1_header_value_in_a_handler_is_a_clean_500(app: App, client: TestClient) -> None:
    # Header values travel as latin-1: "€" cannot be sent and must fail inside the app.
    def euro() -> Response:
        response = PlainTextResponse("ok")
        response.headers["X-Price"] = "5 €"
        return response

    served(app, "/euro", euro)

    response = client.get("/euro")

    assert response.status_code == 500


def test_cookie_value_that_is_not_latin1_is_refused() -> None:
    with pytest.raises(ValueError):
        Response().set_cookie("price", "5 €")


def test_non_latin1_cookie_value_in_a_handler_is_a_clean_500(app: App, client: TestClient) -> None:
    def euro() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("price", "5 €")
        return response

    served(app, "/euro", euro)

    response = client.get("/euro")

    assert response.status_code == 500
    assert "set-cookie" not in response.headers


# -- framing: Content-Length, 204, 304 -----------------------------------------------------------


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_status_has_no_body_and_no_content_length(
    app: App, client: TestClient, status: int
) -> None:
    served(app, "/r", lambda: Response("ignored body", status=status, media_type="text/plain"))

    response = client.get("/r")

    assert response.status_code == status
    assert response.content == b""
    assert "content-length" not in response.headers


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_status_from_a_stream_has_no_body(
    app: App, client: TestClient, status: int
) -> None:
    served(app, "/r", lambda: StreamingResponse(iter([b"ignored"]), status=status))

    response = client.get("/r")

    assert response.content == b""
    assert "content-length" not in response.headers


def test_none_from_a_handler_is_204_without_content_length(app: App, client: TestClient) -> None:
    @app.post("/nothing")
    def nothing() -> None:
        return None

    response = client.post("/nothing")

    assert response.status_code == 204
    assert "content-length" not in response.headers


def test_content_length_counts_bytes_of_a_non_ascii_body(app: App, client: TestClient) -> None:
    text = "héllo wörld ✓ 🎉"
    served(app, "/r", lambda: PlainTextResponse(text))

    response = client.get("/r")

    assert response.headers["content-length"] == str(len(text.encode()))
    assert response.text == text


def test_content_length_of_an_empty_200_is_zero(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response(b""))

    response = client.get("/r")

    assert response.headers["content-length"] == "0"


def test_content_length_is_sent_once(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: JSONResponse({"a": 1}))

    response = client.get("/r")

    assert response.headers.get_list("content-length") == [str(len(b'{"a":1}'))]


def test_head_has_the_get_content_length_and_no_body(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: PlainTextResponse("five!"))

    response = client.head("/r")

    assert response.content == b""
    assert response.headers["content-length"] == "5"


def test_streaming_response_has_no_content_length(app: App, client: TestClient) -> None:
    served(app, "/s", lambda: StreamingResponse(iter([b"a", b"b"])))

    response = client.get("/s")

    assert "content-length" not in response.headers
    assert response.content == b"ab"


def test_content_length_set_by_the_handler_is_not_duplicated(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response(b"abc", headers={"Content-Length": "3"}))

    response = client.get("/r")

    assert response.headers.get_list("content-length") == ["3"]


def test_wrong_content_length_set_by_the_handler_is_corrected(app: App, client: TestClient) -> None:
    served(app, "/r", lambda: Response(b"abc", headers={"Content-Length": "999"}))

    response = client.get("/r")

    assert response.headers.get_list("content-length") == ["3"]
    assert response.content == b"abc"


class StampedResponse(PlainTextResponse):
    """A subclass extending finalize, as FileResponse does: it must run with no cookies set."""

    def finalize(self, request: Request, secure_cookies: bool) -> None:
        super().finalize(request, secure_cookies)
        self.raw_headers.append(("x-finalized-for", request.method))


def test_a_subclass_extending_finalize_has_it_called_without_cookies(
    app: App, client: TestClient
) -> None:
    assert StampedResponse.finalizes and not PlainTextResponse.finalizes

    @app.get("/stamped")
    def stamped() -> Response:
        return StampedResponse("ok")

    @app.get("/stamped-with-cookie")
    def stamped_with_cookie() -> Response:
        response = StampedResponse("ok")
        response.set_cookie("flavour", "oat")
        return response

    reply = client.get("/stamped")
    assert reply.headers["x-finalized-for"] == "GET"
    reply = client.get("/stamped-with-cookie")
    assert reply.headers["x-finalized-for"] == "GET"
    assert "flavour=oat" in reply.headers["set-cookie"]


def test_cookies_are_written_by_the_base_finalize(app: App, client: TestClient) -> None:
    @app.get("/plain-cookie")
    def plain_cookie() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("flavour", "oat")
        return response

    assert "flavour=oat" in client.get("/plain-cookie").headers["set-cookie"]
