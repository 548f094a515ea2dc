"""The WSGI adapter: environ -> Request, Response -> start_response + body iterable (PEP 3333)."""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .app import iterate_sync, run_sync
from .errors import ConfigurationError, HTTPError
from .requests import Request, declared_length

if TYPE_CHECKING:
    from .app import App
    from .responses import Response

StartResponse = Callable[..., Any]

STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
_CHUNK = 64 * 1024
# PERF: Content-Length values of small bodies, made once.
_KNOWN_LENGTHS = 4096
_LENGTHS = [str(n) for n in range(_KNOWN_LENGTHS)]
_access_logger = logging.getLogger("trellis.access")


class WSGIRequest(Request):
    """A Request whose headers and body come from a WSGI environ."""

    __slots__ = ("_consumed", "environ")

    def __init__(self, app: App, environ: dict[str, Any]) -> None:
        path = environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING")
        rejection = None
        if not path.isascii():
            # PEP 3333 hands over the raw bytes decoded as latin-1; the URL is UTF-8.
            try:
                path = path.encode("latin-1").decode("utf-8")
            except UnicodeError:
                rejection = HTTPError(400, "The request path is not valid UTF-8.")
        # PERF: the base initialiser called directly (super() costs a lookup per request).
        Request.__init__(
            self,
            app,
            environ["REQUEST_METHOD"],
            path,
            query.encode("latin-1") if query else b"",
            environ.get("SCRIPT_NAME", ""),
            environ.get("HTTP_HOST"),
            environ.get("wsgi.url_scheme", "http"),
        )
        self.environ = environ
        self._consumed = False
        declared = environ.get("CONTENT_LENGTH")
        if declared and declared.isdigit() and int(declared) > app.settings.max_body_size:
            # Refused whether or not the handler reads the body, as under ASGI.
            limit = app.settings.max_body_size
            rejection = HTTPError(413, f"The request body exceeds the limit of {limit} bytes.")
        self.rejection = rejection

    def _load_headers(self) -> list[tuple[str, str]]:
        headers = []
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-").lower(), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers.append((key.replace("_", "-").lower(), value))
        return headers

    def accept_header(self) -> str | None:
        # PERF: one environ lookup; the server has already joined repeated headers.
        value: str | None = self.environ.get("HTTP_ACCEPT")
        return value

    def _peer(self) -> tuple[str, int] | None:
        addr = self.environ.get("REMOTE_ADDR")
        if not addr:
            return None
        try:
            port = int(self.environ.get("REMOTE_PORT") or 0)
        except ValueError:
            port = 0
        return (addr, port)

    def _server(self) -> tuple[str, int | None]:
        port = self.environ.get("SERVER_PORT")
        return (self.environ.get("SERVER_NAME", "localhost"), int(port) if port else None)

    def _body_chunks(self, limit: int) -> Iterator[bytes]:
        if self._consumed:
            raise RuntimeError(
                "The request body was already read as a stream; read it once, with body(), "
                "json(), form() or stream()."
            )
        self._consumed = True
        environ = self.environ
        raw_length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if raw_length:
            return _read_exact(stream, declared_length(raw_length, limit))
        if environ.get("wsgi.input_terminated"):
            return _read_until_eof(stream, limit)
        return iter(())


def _read_exact(stream: Any, remaining: int) -> Iterator[bytes]:
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            raise HTTPError(400, "The request body ended before Content-Length bytes arrived.")
        remaining -= len(chunk)
        yield chunk


def _read_until_eof(stream: Any, limit: int) -> Iterator[bytes]:
    total = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise HTTPError(413, f"The request body exceeds the limit of {limit} bytes.")
        yield chunk


class WSGIAdapter:
    """Serves an App to a WSGI server."""

    def __init__(self, app: App) -> None:
        websocket_paths = [r.path for r in app.routes if "WEBSOCKET" in r.methods]
        if websocket_paths:
            raise ConfigurationError(
                f"This app has WebSocket routes ({', '.join(websocket_paths)}), which a WSGI "
                "server cannot serve. Serve it with an ASGI server instead: "
                "`uvicorn module:app` or `trellis run` (or gunicorn with an ASGI worker class: "
                "`gunicorn -k uvicorn_worker.UvicornWorker module:app`)."
            )
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        if not app._started:
            app.startup()
            atexit.register(app.shutdown)
        started = time.perf_counter() if _access_logger.isEnabledFor(logging.INFO) else 0.0
        request = WSGIRequest(app, environ)
        if request.rejection is None:
            # PERF: the app's two steps called here, no wrapper frame per request.
            stack: list[Any] = []
            response = app.complete(request, stack, app.begin(request, stack))
        else:
            response = app.error_response(request, request.rejection)
        response = app.finish(request, response)
        status = response.status
        headers = response.raw_headers
        status_line = STATUS_LINES.get(status) or f"{status} Unknown"
        if response.stream is None:
            body = response.body
            if status != 204 and status != 304 and status >= 200:
                # The real Content-Length replaces any the handler set.
                for name, _ in headers:
                    if name == "content-length":
                        headers = [h for h in headers if h[0] != "content-length"]
                        break
                length = len(body)
                headers.append(
                    ("content-length", _LENGTHS[length] if length < _KNOWN_LENGTHS else str(length))
                )
            start_response(status_line, headers)
            if started:
                app.log_access(request, status, started)
            app.teardown_request(request)
            return [body] if request.method != "HEAD" else []
        start_response(status_line, headers)
        return _ClosingStream(app, request, response, started)


class _ClosingStream:
    """The body iterable for streamed responses; the server's close() ends the request."""

    def __init__(self, app: App, request: Request, response: Response, started: float) -> None:
        self.app = app
        self.request = request
        self.response = response
        self.started = started

    def __iter__(self) -> Iterator[bytes]:
        if self.request.method == "HEAD":
            return
        for chunk in iterate_sync(self.response.stream):
            yield chunk.encode() if isinstance(chunk, str) else chunk

    def close(self) -> None:
        stream = self.response.stream
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            run_sync(aclose())
        else:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if self.started:
            self.app.log_access(self.request, self.response.status, self.started)
        self.app.teardown_request(self.request)
