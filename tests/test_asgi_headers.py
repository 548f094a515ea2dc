"""How the ASGI adapter reads raw request headers, repeated names included.

These call the app with hand-made scopes, since HTTP clients fold or refuse repeated headers
before a server would see them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from trellis import App, Request, Response, WebSocket


def call(app: App, method: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> Any:
    """Serve one request through the ASGI side; (status, headers, body, receive calls)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent, receives = exchange(app, scope, {"type": "http.request", "body": body})
    start, end = sent[0], sent[-1]
    return start["status"], dict(start["headers"]), end["body"], receives


def exchange(
    app: App, scope: dict[str, Any], incoming: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Start the app and serve `scope`; every receive() gets `incoming`. Returns the messages
    sent and how many times the app called receive()."""
    sent: list[dict[str, Any]] = []
    receives = 0

    async def receive() -> dict[str, Any]:
        nonlocal receives
        receives += 1
        return incoming

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def serve() -> None:
        await app.astartup()
        await app(scope, receive, send)

    asyncio.run(serve())
    return sent, receives


def echo_app() -> App:
    app = App(settings={"ALLOWED_HOSTS": ["good.example"], "CSRF": False})

    @app.route("/", methods=["GET", "POST"])
    def echo(request: Request) -> dict[str, Any]:
        accept = request.accept_header()
        return {"host": request.host, "accept": accept, "body": len(request.body())}

    return app


def test_the_first_host_header_is_the_one_checked_and_used() -> None:
    app = echo_app()
    status, _, body, _ = call(app, "GET", [(b"host", b"good.example"), (b"host", b"evil.example")])
    assert status == 200
    assert b'"host":"good.example"' in body
    status, _, body, _ = call(app, "GET", [(b"host", b"evil.example"), (b"host", b"good.example")])
    assert status == 400
    assert b"evil.example" in body


def test_repeated_accept_headers_are_joined_in_order() -> None:
    app = echo_app()
    headers = [(b"host", b"good.example"), (b"accept", b"text/html"), (b"accept", b"*/*")]
    status, _, body, _ = call(app, "GET", headers)
    assert status == 200
    assert b'"accept":"text/html, */*"' in body


def test_differing_repeated_content_lengths_are_refused() -> None:
    app = echo_app()
    headers = [(b"host", b"good.example"), (b"content-length", b"3"), (b"content-length", b"4")]
    status, _, body, _ = call(app, "POST", headers, b"abc")
    assert status == 400
    assert b"Invalid Content-Length" in body


def test_a_get_with_a_declared_body_has_it_received_and_one_without_does_not() -> None:
    app = echo_app()
    host = (b"host", b"good.example")
    status, _, body, receives = call(app, "GET", [host, (b"content-length", b"3")], b"abc")
    assert (status, receives) == (200, 1)
    assert b'"body":3' in body
    status, _, body, receives = call(app, "GET", [host])
    assert (status, receives) == (200, 0)
    assert b'"body":0' in body


def test_an_invalid_content_length_is_a_400() -> None:
    app = echo_app()
    for value in (b"abc", b"-1"):
        headers = [(b"host", b"good.example"), (b"content-length", value)]
        status, _, body, _ = call(app, "POST", headers, b"abc")
        assert status == 400
        assert b"Invalid Content-Length" in body


def test_a_refused_websocket_handshake_answers_over_http_with_the_real_length() -> None:
    app = App(settings={})

    @app.before_request
    def refuse(request: Request) -> Response:
        return Response(b"nope", 403, headers={"Content-Length": "999"})

    @app.websocket("/ws")
    async def chat(ws: WebSocket) -> None:
        await ws.accept()

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "scheme": "ws",
        "extensions": {"websocket.http.response": {}},
    }
    sent, _ = exchange(app, scope, {"type": "websocket.connect"})
    start, body = sent
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 403
    assert [v for k, v in start["headers"] if k == b"content-length"] == [b"4"]
    assert body == {"type": "websocket.http.response.body", "body": b"nope"}
