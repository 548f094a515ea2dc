"""The application object: routes, hooks, middleware, settings and the request flow.

One `App` is a WSGI application and an ASGI application at once: `App.__call__` tells them
apart by the number of arguments. A request goes: adapter -> middleware (composed at start-up)
-> `Router.match` -> compiled handler -> return value to `Response` -> adapter.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import dataclasses
import functools
import inspect
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import pydantic

from ._eagertask import run_eagerly
from .errorpages import http_error_response, server_error_response
from .errors import ConfigurationError, HTTPError
from .handlers import (
    CompiledHandler,
    Provider,
    UnresolvedParameterError,
    compile_handler,
    is_async_callable,
)
from .negotiation import RendererRegistry
from .requests import Request
from .responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    negotiated_json_response,
)
from .routing import WEBSOCKET_METHOD, Route, Router, caller_directory
from .settings import Settings
from .templates import Template, Templates
from .websocket import WebSocket, websocket_of

if TYPE_CHECKING:
    from .dashboard import Dashboard, MountedDashboard
    from .staticfiles import StaticFiles

logger = logging.getLogger("trellis")
access_logger = logging.getLogger("trellis.access")

F = TypeVar("F", bound=Callable[..., Any])
Middleware = Callable[[Request], Generator[None, Response, Any]]
ErrorHandler = Callable[[Request, Any], Any]

_NO_CONTENT_STATUSES = frozenset({204, 304})
# Accept values that mean "JSON is fine" without parsing (None: no Accept header).
_PLAIN_JSON_ACCEPTS = frozenset({None, "", "*/*", "application/json"})
_VARY_ACCEPT = ("vary", "accept")
# Marks an App.__call__ argument the server did not pass.
_NO_ARG: Any = object()


class App(Router):
    """A Trellis application.

    >>> app = App()
    >>> @app.get("/")
    ... def hello():
    ...     return "<p>Hello, World!</p>"

    `settings` may be a mapping (`{"DEBUG": True}`) or a `Settings`; `TRELLIS_*` environment
    variables and a `.env` file fill in what it does not say.
    """

    __slots__ = (
        "_after",
        "_asgi_app",
        "_asgi_http",
        "_before",
        "_error_handlers",
        "_executor",
        "_finishers",
        "_middleware",
        "_providers",
        "_request_checks",
        "_shutdown",
        "_start_lock",
        "_started",
        "_startup",
        "_teardown",
        "_templates",
        "_wsgi_app",
        "context_processors",
        "renderers",
        "root_path",
        "sessions",
        "settings",
        "static_files",
        "template_globals",
    )

    def __init__(
        self,
        settings: Settings | dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if isinstance(settings, Settings) else Settings.load(settings)
        self._providers: dict[Any, Provider] = {WebSocket: websocket_of}
        self._middleware: list[Middleware] = []
        self._before: list[Callable[[Request], Any]] = []
        self._after: list[Callable[[Request, Response], Any]] = []
        self._teardown: list[Callable[[Request, BaseException | None], Any]] = []
        self._startup: list[Callable[[], Any]] = []
        self._shutdown: list[Callable[[], Any]] = []
        self._error_handlers: dict[int | type[BaseException], ErrorHandler] = {}
        # Names every template sees, and functions adding per-request names (csrf_token, ...).
        self.template_globals: dict[str, Any] = {}
        self.context_processors: list[Callable[[Request], dict[str, Any]]] = []
        # Templates and static paths are relative to the module that created the app.
        self.root_path = caller_directory()
        self.renderers = RendererRegistry(self.settings.get("FORMAT_PARAM"))
        self.static_files: dict[str, StaticFiles] = {}
        self._templates: Templates | None = None
        self._started = False
        self._start_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._wsgi_app: Callable[..., Any] | None = None
        self._asgi_app: Callable[..., Any] | None = None
        # PERF: the adapter's HTTP entry, called straight from __call__ (None once wrapped).
        self._asgi_http: Callable[..., Any] | None = None
        self._on_add.append(self._compile_route)
        # Checks that run first for every request and refuse it by raising (host checking).
        # PERF: a plain call each; they have no after-half, so no generator is made for them.
        self._request_checks: list[Callable[[Request], None]] = []
        # Functions completing every response just before it is written, whatever produced it
        # (a handler, an error, a request check, middleware): security headers.
        self._finishers: list[Callable[[Request, Response], None]] = []
        from .security.hosts import host_check

        check = host_check(self.settings.allowed_hosts, bool(self.settings.trusted_networks))
        if check is not None:
            self._request_checks.append(check)
        from .security import install_security
        from .sessions import SessionManager

        self.sessions = SessionManager(self.settings)
        install_security(self)

    # -- registration --

    def _compile_route(self, route: Route) -> None:
        try:
            route.call = self._compile_handler(route)
        except UnresolvedParameterError:
            route.call = None  # a provider may still be registered; checked again at start-up

    def _compile_handler(self, route: Route) -> CompiledHandler:
        # `sync_to_thread=False` on a route: its sync handler does not block, so ASGI calls it
        # on the event loop instead of paying a thread-pool hop per request.
        to_thread = route.options.get("sync_to_thread", True)
        if not isinstance(to_thread, bool):
            raise ConfigurationError(
                f"Route {route.path!r}: sync_to_thread must be True or False, not {to_thread!r}."
            )
        return compile_handler(
            route.endpoint, route.param_converters, self._providers, to_thread=to_thread
        )

    def provide(self, annotation: Any, factory: Provider) -> None:
        """Fill handler parameters annotated with `annotation` by calling `factory(request)`."""
        self._providers[annotation] = factory
        for route in self.routes:
            self._compile_route(route)

    def middleware(self, func: F) -> F:
        """Add a middleware: a generator function that runs code around every request.

        Code before `yield` runs first (return a response there to answer early); the yield
        gives the response, which may be changed in place or replaced with `return new`::

            @app.middleware
            def timing(request):
                start = time.perf_counter()
                response = yield
                response.headers["Server-Timing"] = f"app;dur={time.perf_counter() - start}"

        The first middleware added is the outermost. Middleware runs on the event loop under
        ASGI, so it must not block.
        """
        if not inspect.isgeneratorfunction(func):
            raise ConfigurationError(
                f"Middleware {func!r} must be a generator function: do the before-work, then "
                "`response = yield`, then the after-work."
            )
        self._middleware.append(func)
        return func

    def before_request(self, func: F) -> F:
        """Run `func(request)` before each handler; a non-None return answers the request."""
        self._before.append(_require_sync(func, "before_request"))
        return func

    def after_request(self, func: F) -> F:
        """Run `func(request, response)` on each response; a non-None return replaces it."""
        self._after.append(_require_sync(func, "after_request"))
        return func

    def teardown(self, func: F) -> F:
        """Run `func(request, exc_or_None)` after each request, even when it failed."""
        self._teardown.append(_require_sync(func, "teardown"))
        return func

    def on_startup(self, func: F) -> F:
        """Run `func()` (sync or async) once before the first request."""
        self._startup.append(func)
        return func

    def on_shutdown(self, func: F) -> F:
        """Run `func()` (sync or async) once when the server stops."""
        self._shutdown.append(func)
        return func

    def context_processor(self, func: F) -> F:
        """Add `func(request) -> dict` whose names every template rendered for a request sees."""
        self.context_processors.append(_require_sync(func, "context_processor"))
        return func

    def errorhandler(self, key: int | type[BaseException]) -> Callable[[F], F]:
        """Handle a status code or an exception type: `handler(request, exc)` returns a response.

        Handlers are plain functions (not async): they run on the event loop under ASGI.
        """

        def decorator(func: F) -> F:
            self._error_handlers[key] = _require_sync(func, "errorhandler")
            return func

        return decorator

    def static(
        self, prefix: str, directory: str, *, name: str = "static", max_age: int = 0
    ) -> None:
        """Serve files under `directory` at `prefix` (no way out of the directory)."""
        from .staticfiles import StaticFiles

        files = StaticFiles(os.path.join(self.root_path, directory), max_age=max_age)
        self.static_files[name] = files

        def serve_static(path: str) -> Response:
            return files.response(path)

        self.add_route(prefix.rstrip("/") + "/{path:path}", serve_static, ("GET",), name=name)

    def mount_dashboard(self, prefix: str, page: Dashboard, **options: Any) -> MountedDashboard:
        """Serve a `trellis.dashboard.Dashboard` at `prefix` (its graph is checked now)."""
        from .dashboard.mount import mount_dashboard

        return mount_dashboard(self, prefix, page, **options)

    @property
    def templates(self) -> Templates:
        """The Jinja2 templates (`app.templates.env` is the environment)."""
        templates = self._templates
        if templates is None:
            templates = self._templates = Templates(self)
        return templates

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path for route `name`, e.g. `app.url_for("user", id=3)` -> "/users/3"."""
        return self.url_path_for(name, params)

    # -- lifecycle --

    async def astartup(self) -> None:
        """Compile what is still pending, then run the startup hooks (ASGI lifespan calls this)."""
        for route in self.routes:
            if route.call is None:
                # Raises the ConfigurationError naming the handler and parameter.
                route.call = self._compile_handler(route)
        for func in self._startup:
            result = func()
            if inspect.isawaitable(result):
                await result
        self._started = True

    async def ashutdown(self) -> None:
        """Run the shutdown hooks, last registered first."""
        for func in reversed(self._shutdown):
            result = func()
            if inspect.isawaitable(result):
                await result
        self._started = False
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def startup(self) -> None:
        """Run the startup hooks from synchronous code (WSGI servers, scripts, tests)."""
        with self._start_lock:
            if not self._started:
                run_sync(self.astartup())

    def shutdown(self) -> None:
        """Run the shutdown hooks from synchronous code."""
        with self._start_lock:
            if self._started:
                run_sync(self.ashutdown())

    # -- serving --

    def __call__(
        self, first: Any = _NO_ARG, second: Any = _NO_ARG, third: Any = _NO_ARG, *more: Any
    ) -> Any:
        """WSGI when called with (environ, start_response); ASGI with (scope, receive, send)."""
        # PERF: named parameters rather than *args: no tuple built and unpacked per request.
        if third is _NO_ARG:
            if second is not _NO_ARG:
                wsgi = self._wsgi_app
                if wsgi is None:
                    from .wsgi import WSGIAdapter

                    wsgi = self._wsgi_app = WSGIAdapter(self)
                return wsgi(first, second)
        elif not more:
            http = self._asgi_http
            if http is not None and first["type"] == "http":
                return http(first, second, third)
            asgi = self._asgi_app
            if asgi is None:
                from .asgi import ASGIAdapter

                adapter = ASGIAdapter(self)
                asgi = self._asgi_app = adapter
                self._asgi_http = adapter.http
            return asgi(first, second, third)
        given = sum(arg is not _NO_ARG for arg in (first, second, third)) + len(more)
        raise TypeError(
            "App takes (environ, start_response) as a WSGI app or (scope, receive, send) as an "
            f"ASGI app; got {given} arguments."
        )

    def wrap_asgi(self, middleware: Callable[..., Any], **options: Any) -> None:
        """Wrap the ASGI side in a standard ASGI middleware: `middleware(app, **options)`."""
        from .asgi import ASGIAdapter

        inner = self._asgi_app or ASGIAdapter(self)
        self._asgi_app = middleware(inner, **options)
        self._asgi_http = None

    def wrap_wsgi(self, middleware: Callable[..., Any], **options: Any) -> None:
        """Wrap the WSGI side in a standard WSGI middleware: `middleware(app, **options)`."""
        from .wsgi import WSGIAdapter

        inner = self._wsgi_app or WSGIAdapter(self)
        self._wsgi_app = middleware(inner, **options)

    # -- the request flow (shared by both adapters) --

    def begin(
        self, request: Request, stack: list[Generator[None, Response, Any]]
    ) -> Response | CompiledHandler:
        """Request checks, middleware's first halves, routing and before-request hooks.

        Returns the handler to call, or the Response that answers at once (after-request hooks
        already applied when it came from routing or a before-request hook). Middleware
        entered is pushed on `stack`, for `complete` to resume.
        """
        if self._middleware:
            early = self._enter_middleware(request, stack)
            if early is not None:
                return early
        else:
            # PERF: no middleware: only the request checks, run here without another call.
            for check in self._request_checks:
                try:
                    check(request)
                except Exception as exc:
                    return self.error_response(request, exc)
        route, params, allowed = self.match(request.method, request.path)
        if route is None:
            return self._apply_after_hooks(request, self._no_route(request, allowed))
        request.route = route
        request.path_params = params  # type: ignore[assignment]
        for hook in self._before:
            try:
                early = hook(request)
            except Exception as exc:
                return self._after_error(request, exc)
            if early is not None:
                return self._apply_after_hooks(request, self._to_response(early, request))
        handler: CompiledHandler = route.call
        return handler

    def complete(
        self,
        request: Request,
        stack: list[Generator[None, Response, Any]],
        outcome: Response | CompiledHandler,
    ) -> Response:
        """Call the handler `begin` chose (sync; WSGI runs async handlers on the thread's own
        loop), turn its result into a Response, run after hooks and resume middleware; never
        raises. The ASGI adapter uses `complete_async` instead for handlers it must await."""
        if isinstance(outcome, CompiledHandler):
            try:
                result = _call_sync(outcome, request)
                if isinstance(result, Response) and not self._after:
                    response = result  # PERF: nothing to convert, no hooks to call
                else:
                    response = self._after_handler(request, result)
            except Exception as exc:
                response = self._after_error(request, exc)
        else:
            response = outcome
        if not stack:
            return response  # PERF: no middleware entered, nothing to resume
        return self._exit_middleware(request, stack, response)

    async def complete_async(
        self,
        request: Request,
        stack: list[Generator[None, Response, Any]],
        handler: CompiledHandler,
    ) -> Response:
        """`complete` for a handler awaited on the event loop: an async handler, or a sync one
        sent to the thread pool."""
        try:
            build = handler.build
            kwargs = build(request) if build is not None else {}
            if handler.is_async:
                result = await handler.endpoint(**kwargs)
            else:
                result = await self._call_in_thread(handler.endpoint, kwargs)
            response = self._after_handler(request, result)
        except Exception as exc:
            response = self._after_error(request, exc)
        if not stack:
            return response
        return self._exit_middleware(request, stack, response)

    def _enter_middleware(
        self, request: Request, stack: list[Generator[None, Response, Any]]
    ) -> Response | None:
        for check in self._request_checks:
            try:
                check(request)
            except Exception as exc:
                return self.error_response(request, exc)
        for middleware in self._middleware:
            try:
                gen = middleware(request)
                next(gen)
            except StopIteration as stop:
                return self._to_response(stop.value, request)
            except Exception as exc:
                return self.error_response(request, exc)
            stack.append(gen)
        return None

    def _exit_middleware(
        self,
        request: Request,
        stack: list[Generator[None, Response, Any]],
        response: Response,
    ) -> Response:
        for gen in reversed(stack):
            try:
                gen.send(response)
            except StopIteration as stop:
                if stop.value is not None:
                    response = self._to_response(stop.value, request)
                continue
            except Exception as exc:
                response = self.error_response(request, exc)
                continue
            gen.close()
            response = self.error_response(
                request, RuntimeError(f"Middleware {gen.__name__} yielded more than once.")
            )
        return response

    def _after_handler(self, request: Request, result: Any) -> Response:
        try:
            response = self._to_response(result, request)
        except Exception as exc:
            return self._after_error(request, exc)
        if not self._after:
            return response  # PERF: no after-request hooks, no call
        return self._apply_after_hooks(request, response)

    def _after_error(self, request: Request, exc: Exception) -> Response:
        return self._apply_after_hooks(request, self.error_response(request, exc))

    def _apply_after_hooks(self, request: Request, response: Response) -> Response:
        for hook in self._after:
            try:
                replacement = hook(request, response)
            except Exception as exc:
                return self.error_response(request, exc)
            if replacement is not None:
                response = self._to_response(replacement, request)
        return response

    def _no_route(self, request: Request, allowed: frozenset[str]) -> Response:
        if WEBSOCKET_METHOD in allowed:
            allowed = allowed - {WEBSOCKET_METHOD}
            if not allowed:
                return self.error_response(
                    request,
                    HTTPError(
                        426,
                        f"{request.path} is a WebSocket endpoint; connect with a WebSocket client.",
                        {"upgrade": "websocket"},
                    ),
                )
        if allowed:
            allow = ", ".join(sorted(allowed | {"OPTIONS"}))
            if request.method == "OPTIONS":
                return Response(b"", 204, {"allow": allow})
            return self.error_response(
                request,
                HTTPError(
                    405,
                    f"{request.method} is not allowed on {request.path}; allowed: {allow}.",
                    {"allow": allow},
                ),
            )
        if self.settings.redirect_slashes and request.path != "/":
            path = request.path
            other = path[:-1] if path.endswith("/") else path + "/"
            # SECURITY: never redirect to "//host", which browsers treat as another site.
            if not other.startswith("//"):
                route, _, other_allowed = self.match(request.method, other)
                if route is not None or other_allowed:
                    location = quote(request.root_path + other)
                    if request.query_string:
                        location += "?" + request.query_string.decode("latin-1")
                    return RedirectResponse(location, 308)
        return self.error_response(request, HTTPError(404, f"No route matches {request.path}."))

    async def _call_in_thread(self, endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        call = functools.partial(context.run, endpoint, **kwargs)
        return await loop.run_in_executor(self.executor, call)

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The thread pool that runs sync handlers under ASGI (THREADPOOL_SIZE threads)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=int(self.settings.get("THREADPOOL_SIZE", 40)),
                thread_name_prefix="trellis-worker",
            )
        return self._executor

    def _to_response(self, result: Any, request: Request) -> Response:
        """Turn what a handler returned into a Response."""
        kind = type(result)
        # PERF: exact-type checks for the common returns before any isinstance walk.
        if kind is str:
            return HTMLResponse(result)
        if kind is dict or kind is list:
            route = request.route
            # PERF: the benchmark's path: JSON when the client takes anything or JSON and the
            # route does not negotiate; one header lookup, no Accept parsing.
            if (
                self.renderers.fast_json
                and (route is None or not route.negotiates)
                and request.accept_header() in _PLAIN_JSON_ACCEPTS
            ):
                return negotiated_json_response(result)
            return self._negotiate(result, request)
        if isinstance(result, Response):
            return result
        if kind is Template:
            return self.templates.response(result, request)
        if result is None:
            return Response(b"", 204)
        if kind is bytes:
            return Response(result, media_type="application/octet-stream")
        if kind is tuple:
            return self._tuple_response(result, request)
        if isinstance(result, pydantic.BaseModel | dict | list) or dataclasses.is_dataclass(result):
            return self._negotiate(result, request)
        if isinstance(result, str):  # e.g. markupsafe.Markup
            return HTMLResponse(str(result))
        if isinstance(result, Template):
            return self.templates.response(result, request)
        raise TypeError(
            f"The handler returned {kind.__name__!r}, which Trellis cannot turn into a response. "
            "Return str (HTML), bytes, dict/list/dataclass/pydantic model (JSON), None, "
            "a (body, status[, headers]) tuple or a Response."
        )

    def _negotiate(self, data: Any, request: Request) -> Response:
        """Render data in the format the client prefers among the route's renderers (406)."""
        renderer = self.renderers.choose(data, request)
        response = renderer.response(data, request)
        response.raw_headers.append(_VARY_ACCEPT)
        return response

    def _tuple_response(self, result: tuple[Any, ...], request: Request) -> Response:
        if not 2 <= len(result) <= 3 or not isinstance(result[1], int):
            raise TypeError(
                "A tuple returned by a handler must be (body, status) or (body, status, headers)."
            )
        response = self._to_response(result[0], request)
        response.status = result[1]
        if len(result) == 3:
            headers = response.headers
            for name, value in dict(result[2]).items():
                headers[name] = value
        return response

    def error_response(self, request: Request, exc: BaseException) -> Response:
        """The response for an exception: a registered handler, an HTTPError page, or a 500."""
        if not isinstance(exc, HTTPError):
            request.error = exc
            logger.error("Unhandled exception in %s %s", request.method, request.path, exc_info=exc)
        handler = self._find_error_handler(exc)
        if handler is not None:
            try:
                return self._to_response(handler(request, exc), request)
            except Exception as inner:
                logger.exception(
                    "Error handler %r failed while handling %r", handler, exc, exc_info=inner
                )
                return server_error_response(request, inner, self.settings.debug)
        if isinstance(exc, HTTPError):
            return http_error_response(request, exc)
        return server_error_response(request, exc, self.settings.debug)

    def _find_error_handler(self, exc: BaseException) -> ErrorHandler | None:
        handlers = self._error_handlers
        if not handlers:
            return None
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return handler
        status = exc.status if isinstance(exc, HTTPError) else 500
        return handlers.get(status)

    def finish(self, request: Request, response: Response) -> Response:
        """Complete the response; the adapter calls it once and writes what it returns."""
        try:
            if request._session is not None:
                self.sessions.save(request, response)
            if response._cookies is not None or response.finalizes:
                response.finalize(request, self.settings.secure_cookies)
        except Exception as exc:
            response = self.error_response(request, exc)
            response.finalize(request, self.settings.secure_cookies)
        for finisher in self._finishers:
            finisher(request, response)
        if response.status in _NO_CONTENT_STATUSES:
            response.body = b""
            response.stream = None
        # A Content-Length set by hand on a complete body is dropped by the adapter, which
        # writes the real one (PERF: ASGI finds it while encoding, in its cache-miss path).
        return response

    def teardown_request(self, request: Request) -> None:
        """Run teardown hooks and release what the request held; called after writing."""
        for hook in self._teardown:
            try:
                hook(request, request.error)
            except Exception:
                logger.exception("Teardown hook %r failed", hook)
        request.close()

    def log_access(self, request: Request, status: int, started: float) -> None:
        """One access-log line: method, path, status, duration and request id (no secrets)."""
        access_logger.info(
            "%s %s %d %.1fms id=%s",
            request.method,
            request.path,
            status,
            (time.perf_counter() - started) * 1000,
            request.id,
        )


def _mark_as_asgi3(method: Callable[..., Any]) -> None:
    # ASGI servers (uvicorn's interface="auto") pick ASGI 3 only when __call__ looks like a
    # coroutine function; App.__call__ is a plain function so it can also serve WSGI.
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
        inspect.markcoroutinefunction(method)
    else:
        setattr(method, "_is_coroutine", asyncio.coroutines._is_coroutine)  # type: ignore[attr-defined]  # noqa: B010


_mark_as_asgi3(App.__call__)


def _require_sync(func: F, kind: str) -> F:
    if is_async_callable(func):
        raise ConfigurationError(
            f"{kind} hook {func!r} is async; hooks run inline on both servers, so write them "
            "as plain functions (use an async handler for async work)."
        )
    return func


def _call_sync(handler: CompiledHandler, request: Request) -> Any:
    build = handler.build
    if handler.is_async:
        coro = handler.endpoint(**build(request)) if build is not None else handler.endpoint()
        # PERF: the coroutine's first step runs at once; the loop runs only if it waits.
        return run_eagerly(coro, _thread_loop())
    if build is None:
        return handler.endpoint()
    return handler.endpoint(**build(request))


_thread_loops = threading.local()
_all_loops: list[asyncio.AbstractEventLoop] = []
_all_loops_lock = threading.Lock()


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run a coroutine to completion from synchronous code on this thread's own event loop.

    Used under WSGI for async handlers and async iterators; each worker thread keeps one loop.
    """
    return _thread_loop().run_until_complete(awaitable)


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _thread_loops.loop = loop
        with _all_loops_lock:
            _all_loops.append(loop)
    return loop


def close_thread_loops() -> None:
    """Close the event loops run_sync created (at process exit or in tests)."""
    with _all_loops_lock:
        loops, _all_loops[:] = list(_all_loops), []
    for loop in loops:
        if not loop.is_running() and not loop.is_closed():
            loop.close()


def iterate_sync(stream: Any) -> Iterable[Any]:
    """Iterate a sync or async iterable from synchronous code."""
    if hasattr(stream, "__aiter__"):
        iterator = stream.__aiter__()

        def generate() -> Iterable[Any]:
            while True:
                try:
                    yield run_sync(iterator.__anext__())
                except StopAsyncIteration:
                    return

        return generate()
    return stream  # type: ignore[no-any-return]


atexit.register(close_thread_loops)
