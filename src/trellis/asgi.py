"""The ASGI adapter: scope -> Request, Response -> send(); lifespan; websockets (websocket.py).

PERF/design: the request body (if any) is received here, before the handler runs, into memory
or a spooled temporary file within MAX_BODY_SIZE. The core then reads it synchronously under
both protocols, so `request.body()`/`json()`/`form()` work the same in sync and async handlers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from tempfile import SpooledTemporaryFile
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from .errors import HTTPError
from .handlers import CompiledHandler
from .requests import Request, declared_length

if TYPE_CHECKING:
    from .app import App
    from .responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CHUNK = 64 * 1024
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
_SPOOL_AT = 1024 * 1024
# PERF: Content-Length values of small bodies, made once.
_KNOWN_LENGTHS = 4096
_LENGTHS = [b"%d" % n for n in range(_KNOWN_LENGTHS)]
_access_logger = logging.getLogger("trellis.access")
_logger = logging.getLogger("trellis")


class ASGIRequest(Request):
    """A Request whose headers come from an ASGI scope and whose body was received beforehand."""

    __slots__ = ("_buffer", "_fields", "scope")

    def __init__(self, app: App, scope: Scope) -> None:
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        raw = scope["headers"]
        # PERF: the raw headers by name, made in C; the adapter and the host check read Host,
        # Accept and the body headers from it. Repeated names (rare) take the careful way.
        fields: dict[bytes, bytes] = dict(raw)
        if len(fields) != len(raw):
            fields = _merge_repeated(raw)
        host = fields.get(b"host")
        # PERF: the base initialiser called directly (super() costs a lookup per request).
        Request.__init__(
            self,
            app,
            scope["method"],
            path,
            scope["query_string"],
            root_path,
            host.decode("latin-1") if host is not None else None,
            scope.get("scheme", "http"),
        )
        self.scope = scope
        self._fields = fields
        self._buffer: bytes | IO[bytes] = b""
        if "\ufffd" in path:
            # Servers decode invalid UTF-8 into U+FFFD; the raw path tells if that happened.
            try:
                unquote_to_bytes(scope.get("raw_path") or path.encode()).decode("utf-8")
            except UnicodeDecodeError:
                self.rejection = HTTPError(400, "The request path is not valid UTF-8.")

    def _load_headers(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.scope["headers"]]

    def accept_header(self) -> str | None:
        # PERF: from the adapter's map of raw headers, without building the Headers object.
        value = self._fields.get(b"accept")
        return value.decode("latin-1") if value is not None else None

    def _peer(self) -> tuple[str, int] | None:
        client = self.scope.get("client")
        return (client[0], client[1]) if client else None

    def _server(self) -> tuple[str, int | None]:
        server = self.scope.get("server")
        return (server[0], server[1]) if server else ("localhost", None)

    def _body_chunks(self, limit: int) -> Iterator[bytes]:
        buffer = self._buffer
        if isinstance(buffer, bytes):
            return iter((buffer,)) if buffer else iter(())
        buffer.seek(0)
        return iter(lambda: buffer.read(_CHUNK), b"")

    async def receive_body(self, receive: Receive) -> None:
        """Receive the whole body (413 past MAX_BODY_SIZE), spooling large ones to disk."""
        limit = self.app.settings.max_body_size
        declared = self._fields.get(b"content-length")
        if declared is not None:
            declared_length(declared, limit)  # refused before anything is received
        parts: list[bytes] = []
        size = 0
        spool: IO[bytes] | None = None
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise HTTPError(413, f"The request body exceeds the limit of {limit} bytes.")
                if spool is not None:
                    spool.write(chunk)
                else:
                    parts.append(chunk)
                    if size > _SPOOL_AT:
                        spool = SpooledTemporaryFile(max_size=_SPOOL_AT)  # noqa: SIM115
                        spool.write(b"".join(parts))
                        parts = []
            if not message.get("more_body", False):
                break
        self._buffer = spool if spool is not None else b"".join(parts)

    def close(self) -> None:
        # PERF: the base class's one check inlined (this runs after every request).
        form = self._form
        if form is not None:
            form.close()
        buffer = self._buffer
        if buffer.__class__ is not bytes:
            buffer.close()  # type: ignore[union-attr]


class ClientDisconnected(Exception):
    """The client went away before the request was complete."""


async def load_blocking_session(app: App, request: Request) -> None:
    """Read a server-side session (Redis, a database) in the thread pool, never on the event
    loop, when the request carries its cookie; `request.session` then needs no I/O (CSRF
    checks, handlers, templates). Called only when `app.sessions.blocking`."""
    sessions = app.sessions
    if sessions.cookie_name in request.cookies:
        request._session = await app._call_in_thread(sessions.load, {"request": request})


def _merge_repeated(raw: Any) -> dict[bytes, bytes]:
    """Raw headers by name when some repeat: the first Host counts, other values are joined
    with ", " as HTTP allows (so differing Content-Lengths make an invalid one: 400)."""
    fields: dict[bytes, bytes] = {}
    for name, value in raw:
        known = fields.get(name)
        if known is None:
            fields[name] = value
        elif name != b"host":
            fields[name] = known + b", " + value
    return fields


class ASGIAdapter:
    """Serves an App to an ASGI 3 server."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._start_lock = asyncio.Lock()

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # PERF: a plain function returning the coroutine to await, one coroutine fewer per request.
        kind = scope["type"]
        if kind == "http":
            return self.http(scope, receive, send)
        if kind == "lifespan":
            return self.lifespan(receive, send)
        if kind == "websocket":
            return self.websocket(scope, receive, send)
        raise RuntimeError(f"Trellis cannot serve ASGI scope type {kind!r}.")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Run startup and shutdown hooks when the server says so."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    async with self._start_lock:
                        if not self.app._started:
                            await self.app.astartup()
                except Exception as exc:
                    _logger.exception("Startup failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.app.ashutdown()
                except Exception as exc:
                    _logger.exception("Shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one WebSocket connection (see trellis.websocket)."""
        from .websocket import serve_websocket

        if not self.app._started:
            async with self._start_lock:
                if not self.app._started:
                    await self.app.astartup()
        await serve_websocket(self.app, scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request."""
        app = self.app
        if not app._started:
            async with self._start_lock:
                if not app._started:
                    await app.astartup()
        started = time.perf_counter() if _access_logger.isEnabledFor(logging.INFO) else 0.0
        request = ASGIRequest(app, scope)
        sessions = app.sessions
        try:
            if request.rejection is not None:
                raise request.rejection
            # HTTP/2 and HTTP/3 may frame a body without Content-Length, so methods that
            # carry bodies are always received; GET and friends only when a body is declared.
            fields = request._fields
            if (
                request.method not in _BODYLESS_METHODS
                or b"content-length" in fields
                or b"transfer-encoding" in fields
            ):
                await request.receive_body(receive)
            if sessions.blocking:
                await load_blocking_session(app, request)
            stack: list[Any] = []
            outcome = app.begin(request, stack)
            # PERF: a non-blocking `def` handler is called right here, no coroutine made.
            if isinstance(outcome, CompiledHandler) and (outcome.is_async or outcome.to_thread):
                response = await app.complete_async(request, stack, outcome)
            else:
                response = app.complete(request, stack, outcome)
        except HTTPError as exc:
            response = app.error_response(request, exc)
        except ClientDisconnected:
            request.close()
            return
        except Exception as exc:  # the session store failed (the app's own errors never get here)
            response = app.error_response(request, exc)
        session = request._session
        if session is not None and (session.modified or session.stale_ids) and sessions.blocking:
            # Saving a server-side session is I/O: finish in the thread pool.
            finish = app._call_in_thread(app.finish, {"request": request, "response": response})
            response = await finish
        else:
            response = app.finish(request, response)
        status = response.status
        raw_headers = response.raw_headers
        sized = response.stream is None and status != 204 and status != 304 and status >= 200
        # PERF: the usual headers are all in the cache, so each costs one lookup. Those that are
        # not (such as a Content-Length the handler set, never cached) are encoded here; on a
        # complete body a hand-set Content-Length gives way to the real one.
        cached = _HEADER_BYTES.get
        headers = []
        for pair in raw_headers:
            encoded = cached(pair)
            if encoded is None:
                if sized and pair[0] == "content-length":
                    continue
                encoded = _encode_header(pair)
            headers.append(encoded)
        try:
            if response.stream is None:
                body = response.body
                if sized:
                    length = len(body)
                    headers.append(
                        (
                            b"content-length",
                            _LENGTHS[length] if length < _KNOWN_LENGTHS else b"%d" % length,
                        )
                    )
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"" if request.method == "HEAD" else body,
                    }
                )
            else:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                if request.method == "HEAD":
                    await send({"type": "http.response.body", "body": b""})
                    await _close_stream(response.stream)
                else:
                    await self._send_stream(response, receive, send)
        finally:
            if started:
                app.log_access(request, status, started)
            app.teardown_request(request)

    async def _send_stream(self, response: Response, receive: Receive, send: Send) -> None:
        """Send a streamed body, stopping early if the client disconnects."""
        stream = response.stream
        assert stream is not None
        executor = self.app.executor
        iterator: Iterator[Any] | None = None
        if not hasattr(stream, "__aiter__"):
            iterator = iter(stream)
        done = object()
        inflight: list[concurrent.futures.Future[Any]] = []

        def step() -> Any:
            assert iterator is not None
            return next(iterator, done)

        async def pump() -> None:
            if hasattr(stream, "__aiter__"):
                async for chunk in stream:
                    await send(_body_message(chunk))
            else:
                while True:
                    # A sync generator runs in the thread pool; keep the future so that the
                    # generator is closed only after the step in flight has finished.
                    inflight[:] = [executor.submit(step)]
                    chunk = await asyncio.wrap_future(inflight[0])
                    if chunk is done:
                        break
                    await send(_body_message(chunk))
            await send({"type": "http.response.body", "body": b""})

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return

        pump_task = asyncio.ensure_future(pump())
        watch_task = asyncio.ensure_future(watch_disconnect())
        try:
            await asyncio.wait({pump_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump_task, watch_task):
                if not task.done():
                    task.cancel()
            await asyncio.gather(pump_task, watch_task, return_exceptions=True)
            if iterator is not None:
                if inflight and not inflight[0].done():
                    # Let the running next() return before closing the generator.
                    await asyncio.gather(asyncio.wrap_future(inflight[0]), return_exceptions=True)
                close = getattr(iterator, "close", None)
                if close is not None:
                    await asyncio.wrap_future(executor.submit(close))
            else:
                await _close_stream(stream)
        if pump_task.done() and not pump_task.cancelled():
            error = pump_task.exception()
            if error is not None:
                raise error


# PERF: encoded forms of the headers responses repeat (content-type and the like). Bounded and
# never evicted: values that vary per response (cookies, ETags) just stop being cached once full.
_HEADER_BYTES: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_HEADER_CACHE_SIZE = 512
_UNCACHED_HEADERS = frozenset(
    {"content-length", "set-cookie", "etag", "last-modified", "location", "content-range"}
)


def _encode_header(pair: tuple[str, str]) -> tuple[bytes, bytes]:
    name, value = pair
    encoded = (name.encode("latin-1"), value.encode("latin-1"))
    if len(_HEADER_BYTES) < _HEADER_CACHE_SIZE and name not in _UNCACHED_HEADERS:
        _HEADER_BYTES[pair] = encoded
    return encoded


def _body_message(chunk: bytes | str) -> Message:
    return {
        "type": "http.response.body",
        "body": chunk.encode() if isinstance(chunk, str) else chunk,
        "more_body": True,
    }


async def _close_stream(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    close = getattr(stream, "close", None)
    if close is not None:
        close()
