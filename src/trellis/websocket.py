"""WebSockets over ASGI: the `WebSocket` connection object and how the adapter serves one.

Register with `@app.websocket("/ws/{room:int}")` on an `async def` handler taking a `WebSocket`
(path, query and provided parameters are filled as for HTTP handlers)::

    @app.websocket("/ws/{room:int}")
    async def chat(ws: WebSocket, room: int):
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(f"{room}: {text}")

A `WebSocket` carries the handshake `Request` (`ws.request`; headers, cookies and query are
shortcuts) and adds accept/receive/send/close; a `request: Request` parameter gets the
handshake. When the client goes away, `receive*()` raises `WebSocketDisconnect`; a handler that
lets it propagate ends quietly. WSGI servers cannot carry WebSockets: an app with websocket
routes refuses to be served over WSGI, naming the fix.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING, Any

import orjson

from .asgi import ASGIRequest, Receive, Scope, Send, load_blocking_session
from .errors import HTTPError
from .requests import Request, check_json_depth
from .responses import Response, dump_json
from .routing import WEBSOCKET_METHOD

if TYPE_CHECKING:
    from .app import App

__all__ = [
    "WEBSOCKET",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketRequest",
    "serve_websocket",
    "websocket_of",
]

# The method key websocket routes are registered under in the router.
WEBSOCKET = WEBSOCKET_METHOD

_logger = logging.getLogger("trellis")

# RFC 6455 close codes used here.
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011


class WebSocketDisconnect(Exception):
    """The connection is closed (by the client, or by us after invalid data): `code`, `reason`."""

    def __init__(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocketRequest(ASGIRequest):
    """The handshake of a WebSocket connection, as a Request (headers, cookies, query, path)."""

    __slots__ = ("websocket",)

    def __init__(self, app: App, scope: Scope) -> None:
        super().__init__(app, {**scope, "method": "GET", "query_string": _query(scope)})
        self.scope = scope
        self.websocket: WebSocket | None = None


def _query(scope: Scope) -> bytes:
    return bytes(scope.get("query_string", b""))


def websocket_of(request: Request) -> WebSocket:
    """The WebSocket of a handshake request (the provider behind `ws: WebSocket` parameters)."""
    websocket = getattr(request, "websocket", None)
    if websocket is None:
        raise HTTPError(
            426, "This endpoint takes WebSocket connections; connect with a WebSocket client."
        )
    return websocket  # type: ignore[no-any-return]


class WebSocket:
    """One WebSocket connection. Call `accept()` first, then receive and send; `close()` ends it.

    `request` is the handshake (headers, cookies, query); `path_params`, `query`, `headers` and
    `cookies` are shortcuts to it.
    """

    __slots__ = (
        "_receive",
        "_send",
        "accepted",
        "app",
        "close_code",
        "closed",
        "request",
        "scope",
        "subprotocols",
    )

    def __init__(self, request: WebSocketRequest, receive: Receive, send: Send) -> None:
        self.request = request
        self.app = request.app
        self.scope = request.scope
        self._receive = receive
        self._send = send
        self.accepted = False
        self.closed = False
        self.close_code: int | None = None
        self.subprotocols: list[str] = list(self.scope.get("subprotocols", ()))
        request.websocket = self

    @property
    def path(self) -> str:
        """The path the client connected to."""
        return self.request.path

    @property
    def path_params(self) -> dict[str, Any]:
        """The converted path parameters."""
        return self.request.path_params

    @property
    def query(self) -> Any:
        """The query-string parameters of the handshake."""
        return self.request.query

    @property
    def headers(self) -> Any:
        """The headers of the handshake."""
        return self.request.headers

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies of the handshake."""
        return self.request.cookies

    async def accept(
        self, subprotocol: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Accept the connection, optionally choosing one of `self.subprotocols`."""
        if self.accepted:
            raise RuntimeError("WebSocket.accept() was already called for this connection.")
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"Subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {self.subprotocols})."
            )
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await self._send(message)
        self.accepted = True

    async def receive(self) -> dict[str, Any]:
        """The next message as sent by the server (`text` or `bytes`); raises on disconnect."""
        if self.closed:
            raise WebSocketDisconnect(self.close_code or CLOSE_NORMAL)
        if not self.accepted:
            raise RuntimeError("Call `await ws.accept()` before receiving messages.")
        message = dict(await self._receive())
        if message["type"] == "websocket.disconnect":
            self.closed = True
            self.close_code = int(message.get("code", CLOSE_NORMAL))
            raise WebSocketDisconnect(self.close_code, str(message.get("reason") or ""))
        return message

    async def receive_text(self) -> str:
        """The next text message; a binary message closes the connection with 1003."""
        message = await self.receive()
        text = message.get("text")
        if text is None:
            await self._refuse(CLOSE_UNSUPPORTED_DATA, "Expected a text message.")
        return str(text)

    async def receive_bytes(self) -> bytes:
        """The next binary message; a text message closes the connection with 1003."""
        message = await self.receive()
        data = message.get("bytes")
        if data is None:
            await self._refuse(CLOSE_UNSUPPORTED_DATA, "Expected a binary message.")
        return bytes(data or b"")

    async def receive_json(self) -> Any:
        """The next message (text or binary) parsed as JSON; invalid JSON closes with 1007."""
        message = await self.receive()
        raw = message.get("text")
        payload = raw if raw is not None else message.get("bytes") or b""
        try:
            value = orjson.loads(payload)
            check_json_depth(value, self.app.settings.max_json_depth)
        except (orjson.JSONDecodeError, HTTPError):
            await self._refuse(CLOSE_INVALID_PAYLOAD, "The message is not valid JSON.")
        return value

    async def iter_text(self) -> AsyncIterator[str]:
        """Text messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Binary messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self) -> AsyncIterator[Any]:
        """JSON messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            return

    async def send_text(self, text: str) -> None:
        """Send a text message."""
        await self._send_message({"type": "websocket.send", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._send_message({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any) -> None:
        """Send `data` as JSON in a text message (models and dataclasses work, as for HTTP)."""
        await self._send_message({"type": "websocket.send", "text": dump_json(data).decode()})

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close the connection (before `accept()`, this refuses it: the client sees 403)."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        with contextlib.suppress(OSError):  # the client is already gone
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _send_message(self, message: dict[str, Any]) -> None:
        if not self.accepted:
            raise RuntimeError("Call `await ws.accept()` before sending messages.")
        if self.closed:
            raise WebSocketDisconnect(self.close_code or CLOSE_NORMAL)
        try:
            await self._send(message)
        except OSError as exc:  # uvicorn raises ClientDisconnected (an OSError) after a close
            self.closed = True
            raise WebSocketDisconnect(CLOSE_NORMAL, "The client has gone.") from exc

    async def _refuse(self, code: int, reason: str) -> Any:
        await self.close(code, reason)
        raise WebSocketDisconnect(code, reason)

    def __repr__(self) -> str:
        return f"<WebSocket {self.path}>"


async def serve_websocket(app: App, scope: Scope, receive: Receive, send: Send) -> None:
    """Run one WebSocket connection: route it, run middleware and hooks, call the handler.

    Middleware and before-request hooks run up to the handler, as for HTTP; a response they
    return refuses the connection (sent as an HTTP response when the server supports it, else
    as close code 1008). Middleware is closed, not resumed, when the connection ends.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    request = WebSocketRequest(app, scope)
    ws = WebSocket(request, receive, send)
    stack: list[Generator[None, Response, Any]] = []
    try:
        if request.rejection is not None:
            await _deny(app, ws, app.error_response(request, request.rejection))
            return
        if app.sessions.blocking:
            await load_blocking_session(app, request)
        early = app._enter_middleware(request, stack)
        if early is not None:
            await _deny(app, ws, early)
            return
        route, params, _ = app.match(WEBSOCKET, request.path)
        if route is None:
            error = HTTPError(404, f"No websocket route matches {request.path}.")
            await _deny(app, ws, app.error_response(request, error))
            return
        request.route = route
        request.path_params = params  # type: ignore[assignment]
        for hook in app._before:
            refusal = hook(request)
            if refusal is not None:
                await _deny(app, ws, app._to_response(refusal, request))
                return
        handler = route.call
        kwargs = handler.build(request) if handler.build is not None else {}
        await handler.endpoint(**kwargs)
    except WebSocketDisconnect:
        pass
    except HTTPError as exc:
        if ws.accepted:
            await ws.close(CLOSE_POLICY_VIOLATION, str(exc.detail)[:120])
        else:
            await _deny(app, ws, app.error_response(request, exc))
    except Exception as exc:
        request.error = exc
        _logger.error("Unhandled exception in websocket %s", ws.path, exc_info=exc)
        if ws.accepted:
            await ws.close(CLOSE_INTERNAL_ERROR)
        else:
            await _deny(app, ws, app.error_response(request, exc))
    finally:
        if not ws.closed:
            await ws.close()
        for gen in reversed(stack):
            gen.close()
        app.teardown_request(request)


async def _deny(app: App, ws: WebSocket, response: Response) -> None:
    """Refuse the handshake with `response` if the server can send one, else close 1008."""
    if ws.closed or ws.accepted:
        await ws.close(CLOSE_POLICY_VIOLATION)
        return
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        response = app.finish(ws.request, response)
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.raw_headers
            if k != "content-length"  # the real one follows
        ]
        body = response.body if response.stream is None else b""
        headers.append((b"content-length", str(len(body)).encode()))
        await ws._send(
            {"type": "websocket.http.response.start", "status": response.status, "headers": headers}
        )
        await ws._send({"type": "websocket.http.response.body", "body": body})
        ws.closed = True
        ws.close_code = CLOSE_POLICY_VIOLATION
        return
    await ws.close(CLOSE_POLICY_VIOLATION)
