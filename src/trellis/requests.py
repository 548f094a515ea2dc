"""The incoming request. Everything beyond method and path is parsed lazily, on first use.

The server adapters (wsgi.py, asgi.py) subclass `Request` to say where headers and the body
come from; handlers and the rest of the framework only use what is defined here.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

import orjson

from .datastructures import FormData, Headers, MultiDict
from .errors import HTTPError

if TYPE_CHECKING:
    from .app import App
    from .sessions import Session

_UNSET: Any = object()


class Request:
    """An HTTP request as seen by a handler.

    `method`, `path`, `query_string`, `root_path` and `path_params` are plain attributes;
    `headers`, `query`, `cookies`, `body()`, `json()` and `form()` parse on first use and cache.
    Under both WSGI and ASGI the body is read synchronously: the ASGI adapter has already
    received it (within the size limit) before the handler runs.
    """

    __slots__ = (
        "_body",
        "_client",
        "_cookies",
        "_form",
        "_headers",
        "_host",
        "_id",
        "_json",
        "_query",
        "_scheme",
        "_session",
        "_state",
        "app",
        "error",
        "method",
        "path",
        "path_params",
        "query_string",
        "rejection",
        "root_path",
        "route",
    )

    def __init__(
        self,
        app: App,
        method: str,
        path: str,
        query_string: bytes,
        root_path: str = "",
        host: str | None = None,
        scheme: str = "http",
    ) -> None:
        self.app = app
        self.method = method
        self.path = path
        self.query_string = query_string
        self.root_path = root_path
        # PERF: the first Host header and the server's own scheme, as the adapter found them
        # (the host check and HSTS read them on every request).
        self._host = host
        self._scheme = scheme
        self.path_params: dict[str, Any] = {}
        self.route: Any = None
        # Set by the adapter when the request is unusable before dispatch (bad path encoding,
        # declared body over the limit); the app answers with it instead of routing.
        self.rejection: HTTPError | None = None
        # The unexpected exception the request failed with, if any (teardown hooks receive it).
        self.error: BaseException | None = None
        self._headers: Headers | None = None
        self._query: MultiDict[str] | None = None
        self._cookies: dict[str, str] | None = None
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._form: FormData | None = None
        self._client: tuple[str, int] | None = _UNSET
        self._state: SimpleNamespace | None = None
        self._id: str | None = None
        self._session: Session | None = None

    # -- what the adapters provide --

    def _load_headers(self) -> list[tuple[str, str]]:
        raise NotImplementedError  # pragma: no cover - adapters override

    def _peer(self) -> tuple[str, int] | None:
        """The address of the connected peer (which may be a proxy)."""
        return None

    def _server(self) -> tuple[str, int | None]:
        return ("localhost", None)

    def _body_chunks(self, limit: int) -> Iterator[bytes]:
        """Yield the body in chunks, raising 413 once more than `limit` bytes arrive."""
        return iter(())

    # -- headers, query, cookies -------------------------------------------------------------------

    @property
    def headers(self) -> Headers:
        """Case-insensitive, multi-valued request headers."""
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(self._load_headers())
        return headers

    @property
    def query(self) -> MultiDict[str]:
        """Query-string parameters (multi-valued, blank values kept)."""
        query = self._query
        if query is None:
            text = self.query_string.decode("latin-1")
            try:
                pairs = parse_qsl(
                    text,
                    keep_blank_values=True,
                    errors="strict",
                    max_num_fields=self.app.settings.max_query_params,
                )
            except UnicodeDecodeError:
                raise HTTPError(400, "The query string is not valid UTF-8.") from None
            except ValueError:
                raise HTTPError(
                    413,
                    f"Too many query parameters (limit {self.app.settings.max_query_params}).",
                ) from None
            query = self._query = MultiDict(pairs)
        return query

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies the client sent (the first value wins when a name repeats)."""
        cookies = self._cookies
        if cookies is None:
            cookies = {}
            for header in self.headers.getlist("cookie"):
                for chunk in header.split(";"):
                    name, sep, value = chunk.partition("=")
                    name = name.strip()
                    if not sep or not name:
                        continue
                    value = value.strip()
                    if len(value) >= 2 and value[0] == value[-1] == '"':
                        value = _unquote_cookie(value[1:-1])
                    cookies.setdefault(name, value)
            self._cookies = cookies
        return cookies

    def accept_header(self) -> str | None:
        """The Accept header, repeated lines joined (None when absent).

        Adapters override it to read the header without building `headers`.
        """
        values = self.headers.getlist("accept")
        return ", ".join(values) if values else None

    @property
    def content_type(self) -> str:
        """The media type of the body without parameters, lower-case ('' when absent)."""
        value: str = self.headers.get("content-type", "")
        return value.partition(";")[0].strip().lower()

    @property
    def id(self) -> str:
        """An id for log lines: a short, plain X-Request-ID from the client, else random."""
        if self._id is None:
            given = self.headers.get("x-request-id", "")
            if 0 < len(given) <= 64 and given.replace("-", "").isalnum() and given.isascii():
                self._id = given
            else:
                self._id = secrets.token_hex(8)
        return self._id

    @property
    def state(self) -> SimpleNamespace:
        """A namespace for data that middleware and hooks attach to this request."""
        if self._state is None:
            self._state = SimpleNamespace()
        return self._state

    @property
    def session(self) -> Session:
        """This browser's session (dict-like), loaded on first use and saved if changed."""
        session = self._session
        if session is None:
            session = self._session = self.app.sessions.load(self)
        return session

    # -- addresses and URL -------------------------------------------------------------------------

    def _via_trusted_proxy(self) -> bool:
        trusted = self.app.settings.trusted_networks
        if not trusted:
            return False
        peer = self._peer()
        if peer is None:
            return False
        return _in_networks(peer[0], trusted)

    @property
    def client(self) -> tuple[str, int] | None:
        """(host, port) of the client. Proxy headers count only when the peer is a trusted proxy."""
        if self._client is _UNSET:
            peer = self._peer()
            if peer is not None and self._via_trusted_proxy():
                trusted = self.app.settings.trusted_networks
                hops = [
                    h.strip()
                    for header in self.headers.getlist("x-forwarded-for")
                    for h in header.split(",")
                ]
                # The right-most address not belonging to a trusted proxy is the real client.
                for hop in reversed(hops):
                    if hop and not _in_networks(hop, trusted):
                        peer = (hop, 0)
                        break
            self._client = peer
        return self._client

    @property
    def scheme(self) -> str:
        """'http' or 'https' (X-Forwarded-Proto counts only behind a trusted proxy)."""
        if self._via_trusted_proxy():
            proto = self.headers.get("x-forwarded-proto")
            if proto:
                return str(proto).split(",")[0].strip().lower()
        return self._scheme

    @property
    def is_secure(self) -> bool:
        """True when the request came over HTTPS."""
        return self.scheme == "https"

    @property
    def host(self) -> str:
        """The Host the client asked for (X-Forwarded-Host counts only behind a trusted proxy)."""
        if self._via_trusted_proxy():
            forwarded = self.headers.get("x-forwarded-host")
            if forwarded:
                return str(forwarded).split(",")[0].strip()
        host = self._host
        if host:
            return host
        name, port = self._server()
        return name if port in (None, 80, 443) else f"{name}:{port}"

    @property
    def url(self) -> str:
        """The full URL, percent-encoded."""
        url = f"{self.scheme}://{self.host}{quote(self.root_path + self.path)}"
        if self.query_string:
            url += "?" + self.query_string.decode("latin-1")
        return url

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of route `name` as seen by this client (including any mount prefix)."""
        return self.root_path + self.app.url_for(name, **params)

    # -- body --

    def body(self) -> bytes:
        """The whole body (413 past the app's MAX_BODY_SIZE)."""
        body = self._body
        if body is None:
            body = self._body = b"".join(self._body_chunks(self.app.settings.max_body_size))
        return body

    def stream(self) -> Iterator[bytes]:
        """The body in chunks, for large bodies a handler wants to process without holding whole."""
        if self._body is not None:
            return iter((self._body,))
        return self._body_chunks(self.app.settings.max_body_size)

    def json(self) -> Any:
        """The body parsed as JSON (400 with the reason when it is not valid JSON)."""
        if self._json is _UNSET:
            body = self.body()
            if not body:
                raise HTTPError(400, "The request body is empty; expected a JSON document.")
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise HTTPError(400, f"The request body is not valid JSON: {exc}.") from None
            check_json_depth(value, self.app.settings.max_json_depth)
            self._json = value
        return self._json

    def form(self) -> FormData:
        """Form fields and uploaded files from an urlencoded or multipart body."""
        form = self._form
        if form is None:
            from .formparsers import parse_form

            form = self._form = parse_form(
                self.headers.get("content-type"), self.stream(), self.app.settings.form_limits
            )
        return form

    def close(self) -> None:
        """Release what the request holds (uploaded files); the app calls it after responding."""
        if self._form is not None:
            self._form.close()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def _unquote_cookie(value: str) -> str:
    # Undo the octal and backslash escapes that quoted cookie values use.
    out = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            octal = value[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(chr(int(octal, 8)))
                i += 4
                continue
            out.append(value[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _in_networks(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def check_json_depth(value: Any, limit: int) -> None:
    """Refuse JSON nested deeper than `limit` arrays/objects (400)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise HTTPError(400, f"JSON nesting exceeds the limit of {limit} levels.")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def declared_length(value: str | bytes, limit: int) -> int:
    """A request's Content-Length as a number (both adapters): 400 when it is not a
    non-negative integer, 413 when it is over `limit`."""
    try:
        length = int(value)
    except ValueError:
        raise HTTPError(400, f"Invalid Content-Length {value!r}.") from None
    if length < 0:
        raise HTTPError(400, f"Invalid Content-Length {value!r}.")
    if length > limit:
        raise HTTPError(413, f"The request body exceeds the limit of {limit} bytes.")
    return length
