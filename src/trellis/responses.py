"""Response classes. A response is a status, a list of headers and either a body or a stream.

Adapters (wsgi.py, asgi.py) write them; nothing here knows which protocol is serving.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote

import orjson

from .datastructures import MutableHeaders, check_header

if TYPE_CHECKING:
    from .requests import Request

# RFC 6265 cookie-name: an HTTP token.
_COOKIE_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")

ContentStream = Iterable[bytes | str] | AsyncIterable[bytes | str]


class Response:
    """A complete response with a bytes body.

    `content` may be `bytes` or `str` (encoded as UTF-8; a `text/...` media type given without
    a charset then says `charset=utf-8`). Headers set here are checked for CR/LF.
    """

    __slots__ = ("_cookies", "body", "raw_headers", "status", "stream")
    media_type: ClassVar[str | None] = None
    # PERF: whether the class extends `finalize` (set by __init_subclass__); if not, the app
    # calls it only when there are cookies to write.
    finalizes: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "finalize" in cls.__dict__:
            cls.finalizes = True

    def __init__(
        self,
        content: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status = status
        self.stream: ContentStream | None = None
        self._cookies: list[Cookie] | None = None
        if isinstance(content, str):
            content = content.encode()
            if media_type and media_type.startswith("text/") and "charset" not in media_type:
                media_type += "; charset=utf-8"
        self.body: bytes = content
        media_type = media_type or self.media_type
        # PERF: headers are stored as the final (name, value) list the servers want.
        raw: list[tuple[str, str]] = [("content-type", media_type)] if media_type else []
        if headers:
            for name, value in headers.items():
                check_header(name, value)
                raw.append((name.lower(), value))
        self.raw_headers = raw

    @property
    def headers(self) -> MutableHeaders:
        """A mutable, case-insensitive view of the headers (values are checked for CR/LF)."""
        return MutableHeaders(self.raw_headers)

    @property
    def media_type_header(self) -> str | None:
        """The Content-Type header in force, if any."""
        for name, value in self.raw_headers:
            if name == "content-type":
                return value
        return None

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        expires: datetime | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool | None = None,
        httponly: bool = True,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Set a cookie, HttpOnly and SameSite=Lax unless told otherwise.

        `secure=None` means: Secure when the request came over HTTPS or the app's
        `SECURE_COOKIES` setting is on.
        """
        if not _COOKIE_NAME_RE.match(key):
            raise ValueError(
                f"Invalid cookie name {key!r}: use letters, digits and !#$%&'*+-.^_`|~ only."
            )
        check_header("set-cookie", value)
        for attribute, text in (("path", path), ("domain", domain or "")):
            check_header("set-cookie", text)
            if ";" in text:
                raise ValueError(f"Cookie {attribute} {text!r} must not contain ';'.")
        if samesite == "none" and secure is False:
            raise ValueError(
                "SameSite=None cookies must be Secure; browsers reject them otherwise."
            )
        if self._cookies is None:
            self._cookies = []
        self._cookies.append(
            Cookie(key, value, max_age, expires, path, domain, secure, httponly, samesite)
        )

    def delete_cookie(self, key: str, *, path: str = "/", domain: str | None = None) -> None:
        """Tell the browser to drop a cookie (same path and domain as it was set with)."""
        self.set_cookie(
            key,
            "",
            max_age=0,
            expires=datetime.fromtimestamp(0, UTC),
            path=path,
            domain=domain,
        )

    def finalize(self, request: Request, secure_cookies: bool) -> None:
        """Complete the response for `request`; called once by the app before it is written.

        The base class turns pending cookies into Set-Cookie headers; subclasses that depend on
        the request (conditional GET, byte ranges) extend it.
        """
        if self._cookies:
            secure_default = request.scheme == "https" or secure_cookies
            for cookie in self._cookies:
                self.raw_headers.append(("set-cookie", cookie.render(secure_default)))
            self._cookies = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status}>"


class Cookie:
    """A cookie waiting to be rendered into a Set-Cookie header."""

    __slots__ = (
        "domain",
        "expires",
        "httponly",
        "key",
        "max_age",
        "path",
        "samesite",
        "secure",
        "value",
    )

    def __init__(
        self,
        key: str,
        value: str,
        max_age: int | None,
        expires: datetime | None,
        path: str,
        domain: str | None,
        secure: bool | None,
        httponly: bool,
        samesite: str | None,
    ) -> None:
        self.key = key
        self.value = value
        self.max_age = max_age
        self.expires = expires
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httponly = httponly
        self.samesite = samesite

    def render(self, secure_default: bool) -> str:
        """The Set-Cookie header value; the cookie value is quoted as RFC 6265 requires."""
        jar: SimpleCookie = SimpleCookie()
        jar[self.key] = self.value
        morsel = jar[self.key]
        morsel["path"] = self.path
        if self.max_age is not None:
            morsel["max-age"] = str(self.max_age)
        if self.expires is not None:
            expires = self.expires
            if expires.tzinfo is None:
                expires = expires.astimezone()  # a naive datetime is local time
            morsel["expires"] = format_datetime(expires.astimezone(UTC), usegmt=True)
        if self.domain:
            morsel["domain"] = self.domain
        # Browsers drop SameSite=None cookies that are not Secure.
        if self.samesite == "none" or (self.secure if self.secure is not None else secure_default):
            morsel["secure"] = True
        if self.httponly:
            morsel["httponly"] = True
        if self.samesite:
            morsel["samesite"] = self.samesite.capitalize()
        return morsel.OutputString()


class HTMLResponse(Response):
    """An HTML page (text/html; charset=utf-8)."""

    __slots__ = ()
    media_type = "text/html; charset=utf-8"


class PlainTextResponse(Response):
    """Plain text (text/plain; charset=utf-8)."""

    __slots__ = ()
    media_type = "text/plain; charset=utf-8"


class JSONResponse(Response):
    """Data serialised as JSON with orjson (dataclasses, datetimes, UUIDs and numpy arrays work)."""

    __slots__ = ()
    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(dump_json(content), status, headers, media_type)


_NEGOTIATED_JSON_HEADERS = (("content-type", "application/json"), ("vary", "accept"))


def negotiated_json_response(content: Any) -> JSONResponse:
    """A 200 JSON response that says it varies by Accept, built without the generic checks.

    PERF: the hot path for handlers returning a dict; equivalent to
    `JSONResponse(content, headers={"vary": "accept"})` with nothing to validate.
    """
    response = object.__new__(JSONResponse)
    response.status = 200
    response.body = dump_json(content)
    response.stream = None
    response._cookies = None
    response.raw_headers = list(_NEGOTIATED_JSON_HEADERS)
    return response


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic models
    if dump is not None:
        return dump(mode="json")
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} cannot be rendered as JSON")


def dump_json(content: Any) -> bytes:
    """Serialise `content` to JSON bytes, understanding pydantic models, sets and dataclasses."""
    return orjson.dumps(content, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)


class RedirectResponse(Response):
    """A redirect to `url` (307 by default, which keeps the method; use 303 after a form POST)."""

    __slots__ = ()

    def __init__(self, url: str, status: int = 307, headers: dict[str, str] | None = None) -> None:
        if not 300 <= status < 400:
            raise ValueError(f"A redirect needs a 3xx status, got {status}.")
        check_header("location", url)
        # Quote anything unsafe but keep the URL's own structure characters.
        location = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
        super().__init__(b"", status, headers)
        self.raw_headers.append(("location", location))


class StreamingResponse(Response):
    """A body produced piece by piece from a sync or async iterable of bytes or str.

    Sync iterables run in a worker thread under ASGI; async ones on an event loop under WSGI.
    """

    __slots__ = ()

    def __init__(
        self,
        content: ContentStream,
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(b"", status, headers, media_type or "application/octet-stream")
        self.stream = content
