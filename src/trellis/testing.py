"""A synchronous, requests-like test client that drives an app over WSGI or ASGI.

`TestClient` is an `httpx.Client` whose transport calls the application in-process. Under WSGI the
app runs in the test thread; under ASGI it runs on an event loop in a background "portal" thread,
so response bodies stream and an endless response can be read partially and closed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import queue
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, cast
from urllib.parse import unquote, unquote_to_bytes
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

try:
    import httpx
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "trellis.testing needs httpx: pip install httpx (it comes with trellis[dev])."
    ) from None

from ._testing_websocket import WebSocketDenied, WebSocketTestSession, websocket_scope

__all__ = [
    "ASGITransport",
    "LifespanError",
    "TestClient",
    "WSGITransport",
    "WebSocketDenied",
    "WebSocketTestSession",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_T = TypeVar("_T")

_ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
_CLIENT_ADDR = ("127.0.0.1", 123)
_REQUEST_CHUNK_SIZE = 64 * 1024
# Body chunks the app may send ahead of the reader before send() waits: an endless stream must
# not fill memory while a test reads slowly.
_MAX_BUFFERED_CHUNKS = 16
# How long an app gets to notice a closed response stream before its task is cancelled.
_DISCONNECT_GRACE_SECONDS = 0.5
_INTERNAL_ERROR_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]
_INTERNAL_ERROR_BODY = b"Internal Server Error"


class LifespanError(RuntimeError):
    """The ASGI app reported `lifespan.startup.failed` or `lifespan.shutdown.failed`."""


class _PortalClosedError(RuntimeError):
    """Raised when the test thread calls into a portal whose loop has been stopped."""


def _default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _split_raw_path(url: httpx.URL) -> bytes:
    # httpx's raw_path carries the query string too; servers hand the app the path alone.
    return url.raw_path.partition(b"?")[0]


# --------------------------------------------------------------------------------------------
# WSGI
# --------------------------------------------------------------------------------------------


class _WSGIResponseState:
    """What the app told `start_response`, plus bytes it pushed through the `write()` callable."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.exc_info: BaseException | None = None
        self.headers_sent = False
        self.written: list[bytes] = []

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: Any = None,
    ) -> Callable[[bytes], object]:
        if exc_info is not None and exc_info[1] is not None:
            if self.headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            self.exc_info = exc_info[1]
        elif self.status is not None:
            raise RuntimeError(
                "WSGI app called start_response() twice; a second call must pass exc_info."
            )
        self.status = status
        self.headers = list(headers)
        return self.written.append


class _WSGIResponseStream(httpx.SyncByteStream):
    def __init__(
        self,
        first: list[bytes],
        rest: Iterator[bytes],
        result: Iterable[bytes],
        state: _WSGIResponseState,
        *,
        raise_server_exceptions: bool,
        discard_body: bool,
    ) -> None:
        self._first = first
        self._rest = rest
        self._result = result
        self._state = state
        self._raise = raise_server_exceptions
        self._discard_body = discard_body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body(self._first)
            for chunk in self._rest:
                # Bytes passed to write() while this chunk was produced come before it.
                yield from self._body(self._take_written())
                yield from self._body([chunk])
            yield from self._body(self._take_written())
        except Exception:
            if self._raise:
                raise

    def _take_written(self) -> list[bytes]:
        written = self._state.written[:]
        self._state.written.clear()
        return written

    def _body(self, chunks: list[bytes]) -> Iterator[bytes]:
        if not self._discard_body:
            yield from (chunk for chunk in chunks if chunk)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close = getattr(self._result, "close", None)
            if close is not None:
                close()


class WSGITransport(httpx.BaseTransport):
    """An httpx transport that calls a WSGI app in the calling thread, as gunicorn would.

    Unlike `httpx.WSGITransport`, PATH_INFO is the PEP 3333 latin-1 string of the raw bytes,
    repeated headers are joined, `write()` output is kept and HEAD bodies are dropped.
    """

    def __init__(self, app: WSGIApplication, *, raise_server_exceptions: bool = True) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app for one request; the body streams as the app's iterable is consumed."""
        environ = self._build_environ(request)
        state = _WSGIResponseState()
        result: Iterable[bytes] = []
        try:
            result = self.app(environ, cast(StartResponse, state.start_response))
            rest = iter(result)
            first = self._read_until_headers_are_sent(rest, state)
        except Exception:
            self._close_result(result)
            if self.raise_server_exceptions:
                raise
            return httpx.Response(
                500, headers=_INTERNAL_ERROR_HEADERS, content=_INTERNAL_ERROR_BODY
            )
        if state.exc_info is not None and self.raise_server_exceptions:
            self._close_result(result)
            raise state.exc_info
        if state.status is None:
            self._close_result(result)
            raise RuntimeError("WSGI app returned without calling start_response().")
        code, _, reason = state.status.partition(" ")
        stream = _WSGIResponseStream(
            first,
            rest,
            result,
            state,
            raise_server_exceptions=self.raise_server_exceptions,
            discard_body=request.method == "HEAD",
        )
        return httpx.Response(
            int(code),
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in state.headers],
            stream=stream,
            extensions={"reason_phrase": reason.encode("latin-1"), "http_version": b"HTTP/1.1"},
        )

    @staticmethod
    def _read_until_headers_are_sent(
        chunks: Iterator[bytes], state: _WSGIResponseState
    ) -> list[bytes]:
        # PEP 3333: headers go out with the first non-empty body bytes (or at the end), so the
        # app may still change them via start_response(exc_info=...) until then.
        first: list[bytes] = []
        if not any(state.written):
            for chunk in chunks:
                if chunk or any(state.written):
                    first.append(chunk)
                    break
        first[:0] = state.written
        state.written.clear()
        state.headers_sent = True
        return first

    @staticmethod
    def _close_result(result: Iterable[bytes]) -> None:
        close = getattr(result, "close", None)
        if close is not None:
            close()

    @staticmethod
    def _build_environ(request: httpx.Request) -> WSGIEnvironment:
        url = request.url
        raw_path = _split_raw_path(url)
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
            "QUERY_STRING": url.query.decode("latin-1"),
            "RAW_URI": url.raw_path.decode("latin-1"),
            "SERVER_NAME": url.host,
            "SERVER_PORT": str(_default_port(url)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": _CLIENT_ADDR[0],
            "REMOTE_PORT": str(_CLIENT_ADDR[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme,
            "wsgi.input": io.BytesIO(request.read()),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for raw_name, raw_value in request.headers.raw:
            name = raw_name.decode("latin-1")
            if "_" in name:
                # SECURITY: like gunicorn and nginx, drop names that would collide with their
                # dash spelling once mapped to HTTP_* keys.
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            value = raw_value.decode("latin-1")
            if key in environ:
                separator = "; " if key == "HTTP_COOKIE" else ", "
                value = environ[key] + separator + value
            environ[key] = value
        return environ


# --------------------------------------------------------------------------------------------
# ASGI: the portal thread
# --------------------------------------------------------------------------------------------


class _Portal:
    """One asyncio event loop running in a daemon thread, for the test thread to call into.

    Started on first use and stopped (tasks cancelled, loop closed, thread joined) by `stop()`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._stopped:
                raise _PortalClosedError(
                    "This TestClient is closed; create a new one to send requests."
                )
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._serve, args=(loop,), name="trellis-testclient-portal", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Schedule a coroutine on the portal loop; the returned future can be waited on."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())

    def call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the portal loop and block until it returns (or raises)."""
        return self.submit(coroutine).result()

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run a plain callback on the portal loop; a no-op once the portal is stopped."""
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(callback)

    def stop(self) -> None:
        """Cancel what is still running, close the loop and join the thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._stopped = True
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()


# --------------------------------------------------------------------------------------------
# ASGI: one HTTP request/response
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ResponseStarted:
    status: int
    headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class _ResponseComplete:
    pass


@dataclass(frozen=True)
class _AppFailed:
    error: BaseException


@dataclass(frozen=True)
class _AppReturned:
    pass


_Event = _ResponseStarted | bytes | _ResponseComplete | _AppFailed | _AppReturned


class _HTTPExchange:
    """One request: the app's task on the portal loop and the event queue the test thread reads.

    Attributes prefixed `_loop_` are touched only on the portal loop; `events` is the one
    thread-safe hand-off to the test thread.
    """

    def __init__(self, app: ASGIApp, scope: Scope, body: bytes, portal: _Portal) -> None:
        self._app = app
        self._scope = scope
        self._portal = portal
        self._discard_body = scope["method"] == "HEAD"
        self._request_chunks = [
            body[i : i + _REQUEST_CHUNK_SIZE] for i in range(0, len(body), _REQUEST_CHUNK_SIZE)
        ] or [b""]
        self.events: queue.Queue[_Event] = queue.Queue()
        self._error_reported = False
        self._closed = False
        # Portal-loop state. asyncio primitives bind to a loop on first use, not on creation.
        self._loop_task: asyncio.Task[Any] | None = None
        self._loop_started = False
        self._loop_complete = False
        self._loop_client_gone = False
        self._loop_finished = asyncio.Event()  # response complete or client gone
        self._loop_room = asyncio.Event()  # the reader took a chunk
        self._loop_buffered = 0

    # --- portal loop side ---

    async def run(self) -> None:
        self._loop_task = asyncio.current_task()
        try:
            await self._app(self._scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            self.events.put(_AppFailed(error))
        else:
            self.events.put(_AppReturned())

    async def _receive(self) -> Message:
        if self._request_chunks:
            chunk = self._request_chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self._request_chunks)}
        # Like a real server: nothing more arrives until the response is done or the client
        # goes away, and then the connection is over.
        await self._loop_finished.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._loop_started:
                raise RuntimeError("ASGI app sent 'http.response.start' twice; send it once.")
            self._loop_started = True
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            self.events.put(_ResponseStarted(int(message["status"]), headers))
        elif kind == "http.response.body":
            if not self._loop_started:
                raise RuntimeError(
                    "ASGI app sent 'http.response.body' before 'http.response.start'."
                )
            if self._loop_complete:
                raise RuntimeError(
                    "ASGI app sent 'http.response.body' after the response was complete "
                    "(an earlier message had more_body=False)."
                )
            if self._loop_client_gone:
                # As uvicorn does after a disconnect: drop the bytes, but yield so that an app
                # that only ever sends can still be cancelled.
                await asyncio.sleep(0)
                return
            body = bytes(message.get("body", b""))
            if body and not self._discard_body:
                await self._wait_for_room()
                if self._loop_client_gone:
                    return
                self._loop_buffered += 1
                self.events.put(body)
            if not message.get("more_body", False):
                self._loop_complete = True
                self._loop_finished.set()
                self.events.put(_ResponseComplete())
        else:
            raise RuntimeError(f"ASGI app sent {kind!r}, which is not an HTTP response message.")

    async def _wait_for_room(self) -> None:
        while self._loop_buffered >= _MAX_BUFFERED_CHUNKS and not self._loop_client_gone:
            self._loop_room.clear()
            await self._loop_room.wait()

    def _loop_chunk_consumed(self) -> None:
        self._loop_buffered -= 1
        self._loop_room.set()

    async def _loop_finish(self) -> None:
        """Let the app task end: wait for it if the response completed, else disconnect it."""
        if not self._loop_complete:
            self._loop_client_gone = True
            self._loop_finished.set()
            self._loop_room.set()
        task = self._loop_task
        if task is None or task.done():
            return
        if self._loop_client_gone:
            done, _ = await asyncio.wait({task}, timeout=_DISCONNECT_GRACE_SECONDS)
            if not done:
                task.cancel()
        await asyncio.wait({task})

    # --- test thread side ---

    def next_event(self, timeout: float | None, request: httpx.Request) -> _Event:
        """Wait for what the app did next; honour the request's read timeout if one is set."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise httpx.ReadTimeout(
                f"The ASGI app sent nothing for {timeout} seconds; pass a larger `timeout=` "
                "to the request or TestClient if that is expected.",
                request=request,
            ) from None
        if isinstance(event, bytes):
            self._portal.call_soon(self._loop_chunk_consumed)
        elif isinstance(event, _AppFailed):
            self._error_reported = True
        return event

    def close(self, *, raise_errors: bool = False) -> None:
        """End the exchange (disconnecting the app if its response is unfinished) and join it."""
        if self._closed:
            return
        self._closed = True
        try:
            self._portal.call(self._loop_finish())
        except (_PortalClosedError, concurrent.futures.CancelledError):
            return  # the portal is stopped, which cancelled the app task
        while raise_errors and not self._error_reported:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, _AppFailed):
                self._error_reported = True
                raise event.error


class _ASGIResponseStream(httpx.SyncByteStream):
    def __init__(
        self,
        exchange: _HTTPExchange,
        request: httpx.Request,
        timeout: float | None,
        *,
        raise_server_exceptions: bool,
    ) -> None:
        self._exchange = exchange
        self._request = request
        self._timeout = timeout
        self._raise = raise_server_exceptions

    def __iter__(self) -> Iterator[bytes]:
        while True:
            event = self._exchange.next_event(self._timeout, self._request)
            if isinstance(event, bytes):
                yield event
            elif isinstance(event, _ResponseComplete):
                return
            elif isinstance(event, _AppFailed):
                if self._raise:
                    raise event.error
                return
            elif isinstance(event, _AppReturned):
                if self._raise:
                    raise RuntimeError(
                        "ASGI app returned without completing the response; "
                        "send a final 'http.response.body' with more_body=False."
                    )
                return

    def close(self) -> None:
        self._exchange.close(raise_errors=self._raise)


# --------------------------------------------------------------------------------------------
# ASGI: lifespan
# --------------------------------------------------------------------------------------------


class _Lifespan:
    """Runs the app's `lifespan` scope on the portal loop: startup on enter, shutdown on exit."""

    _ENDED = "app returned"

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._task: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | str] = asyncio.Queue()
        self._error: BaseException | None = None

    async def _run(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": dict(_ASGI_VERSION), "state": self._state}
        try:
            await self._app(scope, self._to_app.get, self._send)
        except Exception as error:
            self._error = error
        finally:
            self._from_app.put_nowait(self._ENDED)

    async def _send(self, message: Message) -> None:
        if not str(message["type"]).startswith("lifespan."):
            # An HTTP-only app that does not check scope["type"]; failing its send() ends the
            # lifespan task, which then counts as "lifespan unsupported".
            raise RuntimeError(f"ASGI app sent {message['type']!r} in a lifespan scope.")
        await self._from_app.put(message)

    async def _exchange(self, message_type: str) -> Message | None:
        await self._to_app.put({"type": message_type})
        reply = await self._from_app.get()
        return None if isinstance(reply, str) else reply

    async def startup(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        reply = await self._exchange("lifespan.startup")
        if reply is None:
            # The app raised or returned for the lifespan scope: the ASGI spec says to carry on
            # without lifespan events.
            self._task = None
            return
        if reply["type"] == "lifespan.startup.failed":
            await self._end_task()
            raise LifespanError(f"ASGI app failed to start up: {reply.get('message', '')}")
        if reply["type"] != "lifespan.startup.complete":
            await self._end_task()
            raise RuntimeError(f"ASGI app answered lifespan.startup with {reply['type']!r}.")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        reply = await self._exchange("lifespan.shutdown")
        await self._end_task()
        if self._error is not None:
            raise self._error
        if reply is None:
            raise RuntimeError(
                "ASGI app returned from the lifespan scope without answering lifespan.shutdown."
            )
        if reply["type"] == "lifespan.shutdown.failed":
            raise LifespanError(f"ASGI app failed to shut down: {reply.get('message', '')}")
        if reply["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"ASGI app answered lifespan.shutdown with {reply['type']!r}.")

    async def _end_task(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=_DISCONNECT_GRACE_SECONDS)
            if not done:
                task.cancel()
                await asyncio.wait({task})


# --------------------------------------------------------------------------------------------
# ASGI: transport
# --------------------------------------------------------------------------------------------


class ASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that runs an ASGI 3 app on a background event loop.

    Response bodies stream chunk by chunk, so an endless response can be read partially; closing
    it makes the app's next `receive()` return `http.disconnect`.
    """

    def __init__(self, app: ASGIApp, *, raise_server_exceptions: bool = True) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self._portal = _Portal()
        self._lifespan_state: dict[str, Any] = {}
        self._lifespan = _Lifespan(app, self._lifespan_state)

    def startup(self) -> None:
        """Send `lifespan.startup` and wait for the app; raise `LifespanError` if it failed."""
        self._portal.call(self._lifespan.startup())

    def shutdown(self) -> None:
        """Send `lifespan.shutdown` and wait for the app; raise `LifespanError` if it failed."""
        self._portal.call(self._lifespan.shutdown())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Start the app for one request and return as soon as it has sent the response head."""
        timeout = cast(dict[str, float | None], request.extensions.get("timeout", {})).get("read")
        exchange = _HTTPExchange(self.app, self._build_scope(request), request.read(), self._portal)
        self._portal.submit(exchange.run())
        event = exchange.next_event(timeout, request)
        if isinstance(event, _ResponseStarted):
            stream = _ASGIResponseStream(
                exchange, request, timeout, raise_server_exceptions=self.raise_server_exceptions
            )
            return httpx.Response(
                event.status,
                headers=event.headers,
                stream=stream,
                extensions={"http_version": b"HTTP/1.1"},
            )
        exchange.close()
        if self.raise_server_exceptions:
            if isinstance(event, _AppFailed):
                raise event.error
            raise RuntimeError(
                "ASGI app returned without sending 'http.response.start'; every request "
                "needs a response."
            )
        return httpx.Response(500, headers=_INTERNAL_ERROR_HEADERS, content=_INTERNAL_ERROR_BODY)

    def _build_scope(self, request: httpx.Request) -> Scope:
        url = request.url
        raw_path = _split_raw_path(url)
        return {
            "type": "http",
            "asgi": dict(_ASGI_VERSION),
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": url.query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": _CLIENT_ADDR,
            "server": (url.host, _default_port(url)),
            "state": dict(self._lifespan_state),
        }

    def close(self) -> None:
        """Stop the portal loop, cancelling any app task still running, and join its thread."""
        self._portal.stop()


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class TestClient(httpx.Client):
    """An `httpx.Client` that sends requests straight to a WSGI or ASGI app, keeping cookies.

    Use it as a context manager to run the app's startup and shutdown: the ASGI lifespan
    protocol under `protocol="asgi"`, the app's `startup()`/`shutdown()` methods under WSGI.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        app: Callable[..., Any],
        protocol: Literal["wsgi", "asgi"] = "wsgi",
        *,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        follow_redirects: bool = False,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        transport: WSGITransport | ASGITransport
        if protocol == "wsgi":
            transport = WSGITransport(
                cast(WSGIApplication, app), raise_server_exceptions=raise_server_exceptions
            )
        elif protocol == "asgi":
            transport = ASGITransport(
                cast(ASGIApp, app), raise_server_exceptions=raise_server_exceptions
            )
        else:
            raise ValueError(f"protocol must be 'wsgi' or 'asgi', not {protocol!r}.")
        super().__init__(
            transport=transport,
            base_url=base_url,
            follow_redirects=follow_redirects,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            trust_env=False,
        )
        self.app = app
        self.protocol = protocol
        self._app_transport = transport

    def __enter__(self) -> Self:
        super().__enter__()
        try:
            self._run_startup()
        except BaseException:
            super().__exit__()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if not self.is_closed:
                self._run_shutdown()
        finally:
            super().__exit__(exc_type, exc_value, traceback)

    def websocket_connect(
        self,
        path: str,
        *,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Open a WebSocket session to `path`: `with client.websocket_connect("/ws") as ws:`.

        Needs `protocol="asgi"`: WSGI has no WebSockets.
        """
        transport = self._app_transport
        if not isinstance(transport, ASGITransport):
            raise RuntimeError(
                "WebSockets need ASGI; create the client with TestClient(app, protocol='asgi')."
            )
        request = self.build_request("GET", path, headers=headers)  # cookies and headers
        scope = websocket_scope(request, subprotocols or [], dict(transport._lifespan_state))
        return WebSocketTestSession(transport.app, scope, transport._portal, self.timeout.read)

    def _run_startup(self) -> None:
        if isinstance(self._app_transport, ASGITransport):
            self._app_transport.startup()
        else:
            startup = getattr(self.app, "startup", None)
            if callable(startup):
                startup()

    def _run_shutdown(self) -> None:
        if isinstance(self._app_transport, ASGITransport):
            self._app_transport.shutdown()
        else:
            shutdown = getattr(self.app, "shutdown", None)
            if callable(shutdown):
                shutdown()
