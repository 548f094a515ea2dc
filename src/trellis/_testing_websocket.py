"""WebSocket sessions for `trellis.testing.TestClient.websocket_connect` (ASGI only).

The app runs on the client's portal loop; the test thread talks to it through two queues: an
asyncio queue the app's `receive()` reads, and a thread-safe queue its `send()` fills.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import queue
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import unquote

import httpx

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class _Returned:
    pass


class WebSocketDenied(Exception):
    """The app refused the WebSocket handshake with an HTTP response (`response`)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"The WebSocket handshake was refused with HTTP {response.status_code}.")
        self.response = response


class WebSocketTestSession:
    """A WebSocket connection to an ASGI app, from `TestClient.websocket_connect(path)`.

    Use it as a context manager: entering performs the handshake (raising `WebSocketDisconnect`
    if the app closes instead of accepting, `WebSocketDenied` if it answers with HTTP), leaving
    disconnects and waits for the app to finish, re-raising its unexpected exception.
    """

    def __init__(self, app: ASGIApp, scope: Scope, portal: Any, timeout: float | None) -> None:
        self._app = app
        self._scope = scope
        self._portal = portal
        self._timeout = timeout
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: queue.Queue[Message | _Failed | _Returned] = queue.Queue()
        self._future: concurrent.futures.Future[None] | None = None
        self._closed = False
        self.accepted_subprotocol: str | None = None
        self.accepted_headers: list[tuple[bytes, bytes]] = []

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._to_app.get, self._app_send)
        except BaseException as error:
            self._from_app.put(_Failed(error))
            if isinstance(error, asyncio.CancelledError):
                raise
        else:
            self._from_app.put(_Returned())

    async def _app_send(self, message: Message) -> None:
        self._from_app.put(dict(message))

    def _put(self, message: Message) -> None:
        self._portal.call_soon(lambda: self._to_app.put_nowait(message))

    def __enter__(self) -> Self:
        self._future = self._portal.submit(self._run())
        self._put({"type": "websocket.connect"})
        message = self._next()
        kind = message.get("type")
        if kind == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.accepted_headers = list(message.get("headers") or [])
            return self
        self._closed = True
        if kind == "websocket.http.response.start":
            body = b""
            while True:
                part = self._next()
                body += bytes(part.get("body", b""))
                if not part.get("more_body", False):
                    break
            self._wait_for_app()
            raise WebSocketDenied(
                httpx.Response(int(message["status"]), headers=message.get("headers"), content=body)
            )
        self._wait_for_app()
        raise _disconnect(message)

    def __exit__(self, *exc_info: object) -> None:
        if not self._closed:
            self._closed = True
            self._put({"type": "websocket.disconnect", "code": 1000})
        self._wait_for_app()

    def _wait_for_app(self) -> None:
        future = self._future
        if future is None:
            return
        try:
            future.result(timeout=self._timeout or 10.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
        while True:
            try:
                event = self._from_app.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, _Failed) and not isinstance(event.error, asyncio.CancelledError):
                raise event.error

    def _next(self) -> Message:
        try:
            event = self._from_app.get(timeout=self._timeout)
        except queue.Empty:
            raise TimeoutError(
                f"The app sent nothing on the WebSocket for {self._timeout} seconds."
            ) from None
        if isinstance(event, _Failed):
            self._closed = True
            raise event.error
        if isinstance(event, _Returned):
            self._closed = True
            raise RuntimeError("The ASGI app returned without closing the WebSocket.")
        return event

    # -- talking to the app --

    def send_text(self, text: str) -> None:
        """Send a text message to the app."""
        self._put({"type": "websocket.receive", "text": text})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self._put({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any) -> None:
        """Send `data` as a JSON text message."""
        self.send_text(json.dumps(data))

    def receive(self) -> Message:
        """The next message the app sent; `WebSocketDisconnect` when it closed the socket."""
        message = self._next()
        if message.get("type") == "websocket.close":
            self._closed = True
            raise _disconnect(message)
        return message

    def receive_text(self) -> str:
        """The next message, which must be text."""
        message = self.receive()
        if message.get("text") is None:
            raise AssertionError(f"Expected a text message, got {message!r}.")
        return str(message["text"])

    def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        message = self.receive()
        if message.get("bytes") is None:
            raise AssertionError(f"Expected a binary message, got {message!r}.")
        return bytes(message["bytes"])

    def receive_json(self) -> Any:
        """The next message parsed as JSON."""
        message = self.receive()
        return json.loads(message.get("text") or message.get("bytes") or b"")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Disconnect, as a client closing the socket would."""
        if not self._closed:
            self._closed = True
            self._put({"type": "websocket.disconnect", "code": code, "reason": reason})


def websocket_scope(
    request: httpx.Request, subprotocols: list[str], state: dict[str, Any]
) -> Scope:
    """The ASGI scope of a WebSocket handshake for `request` (its URL, headers and cookies)."""
    url = request.url
    raw_path = url.raw_path.partition(b"?")[0]
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "wss" if url.scheme == "https" else "ws",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": ("127.0.0.1", 123),
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "subprotocols": list(subprotocols),
        "state": state,
        # The app may refuse the handshake with an HTTP response (WebSocketDenied).
        "extensions": {"websocket.http.response": {}},
    }


def _disconnect(message: Message) -> Exception:
    from .websocket import WebSocketDisconnect

    return WebSocketDisconnect(int(message.get("code", 1000)), str(message.get("reason") or ""))
