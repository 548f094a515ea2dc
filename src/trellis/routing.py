"""URL routing: path patterns, converters, a compiled matcher and `url_for`.

Patterns look like `/users/{id:int}/posts/{slug}`. A parameter fills a whole path segment;
`{rest:path}` (last segment only) takes the remainder of the path, slashes included.

PERF: static paths are one dict lookup. Dynamic paths walk a tree of segments built at
registration, so matching costs the depth of the path, not the number of routes.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterable
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from .errors import ConfigurationError, RouteConflictError

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The method key of websocket routes in the route tree (never an HTTP request's method).
WEBSOCKET_METHOD = "WEBSOCKET"


class Converter:
    """Turns a path segment into a value (raise ValueError for no match) and a value back into text.

    Subclass it for custom converters and register with `App.add_converter(name, converter)`.
    Lower `priority` is tried first when several parameters could match the same segment.
    """

    name: ClassVar[str] = "str"
    priority: ClassVar[int] = 50
    matches_slashes: ClassVar[bool] = False

    def convert(self, segment: str) -> Any:
        """Return the value for `segment`, or raise ValueError if it does not match."""
        return segment

    def to_url(self, value: Any) -> str:
        """Return the URL text for `value` (unquoted; `url_for` quotes it)."""
        return str(value)


class StringConverter(Converter):
    """Any non-empty segment."""

    name = "str"
    priority = 90

    def convert(self, segment: str) -> str:
        if not segment:
            raise ValueError("empty segment")
        return segment


class IntConverter(Converter):
    """A non-negative integer written with ASCII digits."""

    name = "int"
    priority = 10

    def convert(self, segment: str) -> int:
        if segment.isascii() and segment.isdigit():
            return int(segment)
        raise ValueError(segment)

    def to_url(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{value!r} is not a non-negative integer")
        return str(value)


_FLOAT_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")


class FloatConverter(Converter):
    """A non-negative decimal number such as `3` or `2.5` (no exponent, inf or nan)."""

    name = "float"
    priority = 20

    def convert(self, segment: str) -> float:
        if _FLOAT_RE.match(segment):
            return float(segment)
        raise ValueError(segment)

    def to_url(self, value: Any) -> str:
        return repr(float(value))


_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)


class UUIDConverter(Converter):
    """A UUID in its canonical hyphenated form."""

    name = "uuid"
    priority = 30

    def convert(self, segment: str) -> uuid.UUID:
        if _UUID_RE.match(segment):
            return uuid.UUID(segment)
        raise ValueError(segment)

    def to_url(self, value: Any) -> str:
        return str(uuid.UUID(str(value)))


_SLUG_RE = re.compile(r"[A-Za-z0-9_-]+\Z")


class SlugConverter(Converter):
    """Letters, digits, hyphens and underscores."""

    name = "slug"
    priority = 40

    def convert(self, segment: str) -> str:
        if _SLUG_RE.match(segment):
            return segment
        raise ValueError(segment)


class PathConverter(Converter):
    """The non-empty remainder of the path, slashes included (last segment only)."""

    name = "path"
    priority = 100
    matches_slashes = True

    def convert(self, segment: str) -> str:
        if not segment:
            raise ValueError("empty path")
        return segment


DEFAULT_CONVERTERS: dict[str, Converter] = {
    c.name: c
    for c in (
        StringConverter(),
        IntConverter(),
        FloatConverter(),
        UUIDConverter(),
        SlugConverter(),
        PathConverter(),
    )
}

_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}\Z")


def _params_builder(names: tuple[str, ...]) -> Callable[[list[Any]], dict[str, Any]]:
    """A function making the params dict from the converted values, in `names` order.

    PERF: a dict display is about five times faster than `dict(zip(names, values))`, and most
    routes have one to three parameters.
    """
    if len(names) == 1:
        (a,) = names
        return lambda values: {a: values[0]}
    if len(names) == 2:
        a, b = names
        return lambda values: {a: values[0], b: values[1]}
    if len(names) == 3:
        a, b, c = names
        return lambda values: {a: values[0], b: values[1], c: values[2]}
    return lambda values: dict(zip(names, values, strict=True))


class Route:
    """One registered endpoint: a path pattern, the methods it answers, and its handler."""

    __slots__ = (
        "call",
        "endpoint",
        "implicit_head",
        "methods",
        "name",
        "negotiates",
        "options",
        "param_converters",
        "param_names",
        "params_from",
        "path",
        "segments",
    )

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str],
        name: str,
        segments: list[str | tuple[str, Converter]],
        options: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        declared = {m.upper() for m in methods}
        # HEAD is answered for every GET route unless a HEAD route is declared explicitly.
        self.implicit_head = "GET" in declared and "HEAD" not in declared
        self.methods = frozenset(declared | {"HEAD"} if self.implicit_head else declared)
        self.name = name
        self.segments = segments
        self.param_names = tuple(s[0] for s in segments if isinstance(s, tuple))
        self.params_from = _params_builder(self.param_names)
        self.param_converters = {s[0]: s[1] for s in segments if isinstance(s, tuple)}
        self.options = options or {}
        # Whether the route chooses its own formats (`produces=`, `template=`); the app's fast
        # JSON path applies only to routes that do not.
        self.negotiates = "produces" in self.options or "template" in self.options
        # Filled in by the app at registration: the compiled handler invocation.
        self.call: Any = None

    def build_path(self, params: dict[str, Any]) -> str:
        """The path for `params`, each value converted and percent-quoted."""
        parts = []
        for segment in self.segments:
            if isinstance(segment, str):
                parts.append(segment)
                continue
            name, converter = segment
            if name not in params:
                raise ValueError(f"url_for({self.name!r}) is missing the parameter {name!r}.")
            try:
                text = converter.to_url(params[name])
                converter.convert(text)
            except (ValueError, TypeError):
                raise ValueError(
                    f"url_for({self.name!r}): {params[name]!r} is not a valid "
                    f"{converter.name!r} value for {name!r}."
                ) from None
            parts.append(quote(text, safe="/" if converter.matches_slashes else ""))
        return "/" + "/".join(parts) if parts else "/"

    def __repr__(self) -> str:
        return f"<Route {sorted(self.methods)} {self.path} name={self.name!r}>"


class _Node:
    """One level of the segment tree."""

    __slots__ = ("catchall", "leaf", "params", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.params: list[tuple[Converter, _Node]] = []
        self.catchall: list[tuple[Converter, _Node]] = []
        self.leaf: dict[str, Route] | None = None

    def child_for_param(self, converter: Converter) -> _Node:
        bucket = self.catchall if converter.matches_slashes else self.params
        for existing, node in bucket:
            if existing is converter:
                return node
        node = _Node()
        bucket.append((converter, node))
        bucket.sort(key=lambda pair: pair[0].priority)
        return node


def parse_pattern(path: str, converters: dict[str, Converter]) -> list[str | tuple[str, Converter]]:
    """Split a route pattern into static segments and (name, converter) parameters."""
    if not path.startswith("/"):
        raise ConfigurationError(f"Route path {path!r} must start with '/'.")
    raw_segments = path[1:].split("/") if path != "/" else []
    segments: list[str | tuple[str, Converter]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_segments):
        if "{" not in raw and "}" not in raw:
            segments.append(raw)
            continue
        match = _PARAM_RE.match(raw)
        if match is None:
            raise ConfigurationError(
                f"Route path {path!r}: segment {raw!r} is not valid. A parameter must fill a whole "
                "segment, written {name} or {name:converter}."
            )
        name, conv_name = match.group(1), match.group(2) or "str"
        if name in seen:
            raise ConfigurationError(f"Route path {path!r} uses the parameter {name!r} twice.")
        seen.add(name)
        converter = converters.get(conv_name)
        if converter is None:
            raise ConfigurationError(
                f"Route path {path!r}: unknown converter {conv_name!r}. "
                f"Known: {', '.join(sorted(converters))}; add one with App.add_converter()."
            )
        if converter.matches_slashes and index != len(raw_segments) - 1:
            raise ConfigurationError(
                f"Route path {path!r}: a {{{name}:{conv_name}}} parameter must be the last segment."
            )
        segments.append((name, converter))
    return segments


MatchResult = tuple[Route | None, dict[str, Any] | None, frozenset[str]]
_NONE_ALLOWED: frozenset[str] = frozenset()


class Router:
    """A set of routes with an optional path prefix and name, mountable into an app (a blueprint).

    `@router.get("/x")` registers; `app.include(router)` copies the routes into the app,
    prefixed with `router.prefix` and named `"<router.name>.<route name>"` when the router is named.
    """

    # PERF: slots keep attribute reads on the hot path fast however many attributes an app has
    # (a plain instance dict slows every read once it passes ~30 keys). `__dict__` stays so
    # extensions and users can still add attributes of their own.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_names",
        "_on_add",
        "_root",
        "_static",
        "converters",
        "name",
        "prefix",
        "routes",
        "template_folders",
    )

    def __init__(
        self, prefix: str = "", name: str | None = None, template_folder: str | None = None
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ConfigurationError(
                f"Router prefix {prefix!r} must start with '/' and not end with '/'."
            )
        self.prefix = prefix
        self.name = name
        self.converters: dict[str, Converter] = dict(DEFAULT_CONVERTERS)
        self.routes: list[Route] = []
        self._names: dict[str, Route] = {}
        # PERF: exact paths map straight to {method: route}; the tree handles the rest.
        self._static: dict[str, dict[str, Route]] = {}
        self._root = _Node()
        self._on_add: list[Callable[[Route], None]] = []
        # Template folders this router brings (a blueprint's own templates), absolute paths.
        self.template_folders: list[str] = []
        if template_folder is not None:
            self.template_folders.append(os.path.join(caller_directory(), template_folder))

    # -- registration -------------------------------------------------------------------------

    def route(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        name: str | None = None,
        **options: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the decorated function for `path` and `methods`.

        Option `sync_to_thread=False` declares a `def` handler that never blocks: under ASGI it
        is then called on the event loop instead of in the thread pool (faster; a blocking
        handler declared so would stall every request).
        """

        def decorator(endpoint: Callable[..., Any]) -> Callable[..., Any]:
            self.add_route(path, endpoint, methods, name=name, **options)
            return endpoint

        return decorator

    def get(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a GET route (HEAD is answered too)."""
        return self.route(path, ("GET",), **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a POST route."""
        return self.route(path, ("POST",), **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a PUT route."""
        return self.route(path, ("PUT",), **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a PATCH route."""
        return self.route(path, ("PATCH",), **kwargs)

    def delete(
        self, path: str, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a DELETE route."""
        return self.route(path, ("DELETE",), **kwargs)

    def websocket(
        self, path: str, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register an `async def` handler for WebSocket connections to `path` (ASGI only)."""

        def decorator(endpoint: Callable[..., Any]) -> Callable[..., Any]:
            if not inspect.iscoroutinefunction(endpoint):
                raise ConfigurationError(
                    f"WebSocket handler {_describe(endpoint)} must be `async def`: receiving and "
                    "sending messages are awaited."
                )
            self.add_route(path, endpoint, (WEBSOCKET_METHOD,), **kwargs)
            return endpoint

        return decorator

    def sse(
        self, path: str, *, ping: float | None = 15.0, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a generator function as a server-sent events stream at GET `path`.

        Each yielded item is one event; `ping` is the keep-alive interval in seconds.
        """
        from .sse import sse_endpoint

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_route(path, sse_endpoint(func, ping), ("GET",), **kwargs)
            return func

        return decorator

    def add_converter(self, name: str, converter: Converter) -> None:
        """Make `{param:name}` available in this router's patterns."""
        if not isinstance(converter, Converter):
            raise ConfigurationError(f"Converter {name!r} must be a trellis.routing.Converter.")
        self.converters[name] = converter

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] = ("GET",),
        name: str | None = None,
        **options: Any,
    ) -> Route:
        """Register `endpoint`; raises RouteConflictError if another route answers the same."""
        method_set = {m.upper() for m in methods}
        if not method_set:
            raise ConfigurationError(f"Route {path!r} needs at least one method.")
        for method in method_set:
            if not method.isascii() or not method.isalpha():
                raise ConfigurationError(f"Route {path!r}: {method!r} is not an HTTP method.")
        full_path = self.prefix + path if path != "/" or not self.prefix else self.prefix
        segments = parse_pattern(full_path, self.converters)
        route_name = name or str(getattr(endpoint, "__name__", "endpoint"))
        route = Route(full_path, endpoint, method_set, route_name, segments, options)
        self._insert(route)
        return route

    def _insert(self, route: Route) -> None:
        existing_name = self._names.get(route.name)
        if existing_name is not None and existing_name.endpoint is not route.endpoint:
            raise ConfigurationError(
                f"Route name {route.name!r} is already used by {existing_name.path!r}; "
                "pass name=... to tell them apart (url_for needs unique names)."
            )
        if route.param_names:
            node = self._root
            for segment in route.segments:
                if isinstance(segment, str):
                    node = node.static.setdefault(segment, _Node())
                else:
                    node = node.child_for_param(segment[1])
            if node.leaf is None:
                node.leaf = {}
            leaf = node.leaf
        else:
            leaf = self._static.setdefault(route.path, {})
        for method in sorted(route.methods, key=lambda m: m == "HEAD"):
            other = leaf.get(method)
            if other is None or method != "HEAD":
                if other is not None:
                    raise RouteConflictError(
                        f"{method} {route.path!r} ({_describe(route.endpoint)}) conflicts with "
                        f"{other.path!r} ({_describe(other.endpoint)}): both would answer the same "
                        "requests. Change one path or method."
                    )
                continue
            if route.implicit_head == other.implicit_head:
                raise RouteConflictError(
                    f"HEAD {route.path!r} is declared twice ({_describe(route.endpoint)} and "
                    f"{_describe(other.endpoint)})."
                )
        for method in route.methods:
            other = leaf.get(method)
            if method == "HEAD" and other is not None and route.implicit_head:
                continue  # an explicitly declared HEAD route wins over the implicit one
            leaf[method] = route
        self.routes.append(route)
        self._names[route.name] = route
        for callback in self._on_add:
            callback(route)

    def include(self, router: Router, prefix: str = "") -> None:
        """Copy `router`'s routes into this one under `prefix` (and the router's own name)."""
        for folder in router.template_folders:
            if folder not in self.template_folders:
                self.template_folders.append(folder)
        for route in router.routes:
            path = prefix + route.path if route.path != "/" or not prefix else prefix
            name = f"{router.name}.{route.name}" if router.name else route.name
            methods = route.methods - {"HEAD"} if route.implicit_head else route.methods
            merged = {**self.converters, **router.converters}
            segments = parse_pattern(self.prefix + path, merged)
            copy = Route(self.prefix + path, route.endpoint, methods, name, segments, route.options)
            self._insert(copy)

    # -- lookup -------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> MatchResult:
        """Find the route for `method` and `path`.

        Returns (route, params, allowed): on success `route` and its converted `params`; when
        the path exists but not for this method, `route` is None and `allowed` lists the methods
        of every route matching the path.
        """
        leaf = self._static.get(path)
        if leaf is not None:
            route = leaf.get(method)
            if route is not None:
                return route, {}, _NONE_ALLOWED
            allowed = set(leaf)
        else:
            allowed = set()
        root = self._root
        if root.static or root.params or root.catchall:
            parts = path[1:].split("/") if path != "/" else []
            # PERF: first follow the first choice at every level (static child, else the first
            # parameter that converts) without recursion. The depth-first walk tries choices in
            # the same order, so when this path ends in a route it is the walk's answer too;
            # otherwise the walk runs (backtracking, {x:path}, and `allowed` for 405).
            node: _Node | None = root
            values: list[Any] = []
            for part in parts:
                assert node is not None
                child = node.static.get(part)
                if child is None and part:
                    for converter, param_child in node.params:
                        try:
                            values.append(converter.convert(part))
                        except ValueError:
                            continue
                        child = param_child
                        break
                node = child
                if node is None:
                    break
            if node is not None and node.leaf is not None:
                route = node.leaf.get(method)
                if route is not None:
                    return route, route.params_from(values), _NONE_ALLOWED
            values = []
            route = self._walk(root, parts, 0, method, values, allowed)
            if route is not None:
                return route, route.params_from(values), _NONE_ALLOWED
        return None, None, frozenset(allowed)

    def _walk(
        self,
        node: _Node,
        parts: list[str],
        index: int,
        method: str,
        values: list[Any],
        allowed: set[str],
    ) -> Route | None:
        # Depth first: static child, then parameters by priority, then {x:path}. Leaves that match
        # the path but not the method add their methods to `allowed` (for 405 and OPTIONS).
        if index == len(parts):
            leaf = node.leaf
            if leaf is None:
                return None
            route = leaf.get(method)
            if route is None:
                allowed.update(leaf)
            return route
        part = parts[index]
        child = node.static.get(part)
        if child is not None:
            route = self._walk(child, parts, index + 1, method, values, allowed)
            if route is not None:
                return route
        if part:
            for converter, child in node.params:
                try:
                    value = converter.convert(part)
                except ValueError:
                    continue
                values.append(value)
                route = self._walk(child, parts, index + 1, method, values, allowed)
                if route is not None:
                    return route
                values.pop()
        for converter, child in node.catchall:
            rest = "/".join(parts[index:])
            if not rest:
                continue
            try:
                value = converter.convert(rest)
            except ValueError:
                continue
            values.append(value)
            route = self._walk(child, parts, len(parts), method, values, allowed)
            if route is not None:
                return route
            values.pop()
        return None

    def url_path_for(self, name: str, params: dict[str, Any]) -> str:
        """The path for route `name`; parameters not in the pattern become the query string."""
        route = self._names.get(name)
        if route is None:
            raise ValueError(
                f"url_for: no route named {name!r}. Known names: {', '.join(sorted(self._names))}."
            )
        path = route.build_path(params)
        extra = {k: v for k, v in params.items() if k not in route.param_converters}
        if extra:
            path += "?" + urlencode(extra, doseq=True)
        return path


def caller_directory() -> str:
    """The directory of the first module outside trellis on the call stack (the app's module).

    Relative template and static folders are resolved against it, so an app finds its files
    whatever the server's working directory is.
    """
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != "trellis" and not name.startswith("trellis."):
            filename = frame.f_globals.get("__file__")
            return os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()
        frame = frame.f_back  # type: ignore[assignment]
    return os.getcwd()


def _describe(endpoint: Callable[..., Any]) -> str:
    return f"{getattr(endpoint, '__module__', '?')}.{getattr(endpoint, '__qualname__', endpoint)}"
