"""Cross-site request forgery protection for cookie-authenticated requests.

Unsafe methods (POST, PUT, PATCH, DELETE) on a request that carries the session cookie must
send the session's token, in the `csrf_token` form field or the `X-CSRF-Token` header, and
must not come from another origin (Origin header; on HTTPS the Referer when Origin is absent).
A cross-origin form post is refused even without a session cookie (login CSRF). Requests
without the cookie (API clients using keys or tokens) need no token.

Templates write `{{ csrf_field() }}` inside forms; JavaScript reads `{{ csrf_token }}` (for
example from a `<meta name="csrf-token">`) and sends it as `X-CSRF-Token` with `fetch`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ..errors import HTTPError

if TYPE_CHECKING:
    from ..requests import Request

F = TypeVar("F", bound=Callable[..., Any])

TOKEN_KEY = "_csrf_token"  # noqa: S105 - a session key, not a secret
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The bodies an HTML form on another site can send without a CORS preflight.
_FORM_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain", ""}
)
_SECRET_BYTES = 32


def csrf_exempt(target: F) -> F:
    """Turn CSRF checks off for a handler, or every route of a `Router` (blueprint).

    Only for endpoints that do not rely on the session cookie, e.g. APIs authenticated by keys.
    """
    from ..routing import Router

    if isinstance(target, Router):
        for route in target.routes:
            route.options["csrf"] = False
        target._on_add.append(lambda route: route.options.__setitem__("csrf", False))
    else:
        target.__trellis_csrf_exempt__ = True  # type: ignore[attr-defined]
    return target


def get_csrf_token(request: Request) -> str:
    """The token to put in this response's forms (masked afresh each call, against BREACH)."""
    session = request.session
    secret = session.get(TOKEN_KEY)
    if not isinstance(secret, str):
        secret = session[TOKEN_KEY] = secrets.token_urlsafe(_SECRET_BYTES)
    raw = secret.encode()
    pad = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(
        pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True))
    ).decode()


def _unmask(token: str) -> bytes | None:
    try:
        decoded = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    half = len(decoded) // 2
    if half == 0 or len(decoded) % 2:
        return None
    pad, masked = decoded[:half], decoded[half:]
    return bytes(a ^ b for a, b in zip(pad, masked, strict=True))


def token_matches(request: Request, token: str | None) -> bool:
    """True when `token` was issued for this request's session (a timing-safe comparison)."""
    secret = request.session.get(TOKEN_KEY)
    if not token or not isinstance(secret, str):
        return False
    unmasked = _unmask(token)
    return unmasked is not None and hmac.compare_digest(unmasked, secret.encode())


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class CSRFProtection:
    """The check run before each unsafe request's handler (see the module docstring)."""

    def __init__(self, cookie_name: str, trusted_origins: list[str]) -> None:
        self.cookie_name = cookie_name
        self.trusted = frozenset(o.strip().rstrip("/").lower() for o in trusted_origins if o)

    def _same_origin(self, request: Request, origin: str | None) -> bool:
        if origin is None:
            return False
        if origin in self.trusted:
            return True
        return origin == f"{request.scheme}://{request.host.lower()}"

    def check(self, request: Request) -> None:
        """Raise 403 with the reason when the request fails the CSRF checks."""
        has_cookie = self.cookie_name in request.cookies
        if not has_cookie and request.content_type not in _FORM_TYPES:
            return  # not cookie-authenticated and not something a foreign form could send
        origin = request.headers.get("origin")
        if origin is not None:
            if not self._same_origin(request, _origin_of(origin)):
                raise HTTPError(
                    403,
                    f"CSRF check failed: the request came from another origin ({origin[:100]}). "
                    "Cross-origin form posts are refused; trusted origins go in "
                    "CSRF_TRUSTED_ORIGINS.",
                )
        elif request.is_secure and has_cookie:
            referer = request.headers.get("referer")
            if not referer:
                raise HTTPError(
                    403, "CSRF check failed: an HTTPS request needs a Referer or Origin header."
                )
            if not self._same_origin(request, _origin_of(referer)):
                raise HTTPError(403, "CSRF check failed: the Referer is another site.")
        if not has_cookie:
            return
        token = request.headers.get(HEADER)
        if not token and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            value = request.form().get(FORM_FIELD)
            token = value if isinstance(value, str) else None
        if not token:
            raise HTTPError(
                403,
                "CSRF check failed: the CSRF token is missing. Add {{ csrf_field() }} to the "
                "form, or send the token in the X-CSRF-Token header.",
            )
        if not token_matches(request, token):
            raise HTTPError(
                403,
                "CSRF check failed: the CSRF token is invalid or expired; reload the page "
                "and try again.",
            )


def csrf_field(request: Request) -> Any:
    """A hidden `<input name="csrf_token">` for a form (safe markup for templates)."""
    from markupsafe import Markup, escape

    token = escape(get_csrf_token(request))
    # SECURITY: the only variable part is escaped above.
    return Markup(f'<input type="hidden" name="{FORM_FIELD}" value="{token}">')  # noqa: S704


class CSRFTokenValue:
    """`{{ csrf_token }}` in templates: made (and the session touched) only when rendered."""

    __slots__ = ("_request", "_value")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._value: str | None = None

    def __call__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        if self._value is None:
            self._value = get_csrf_token(self._request)
        return self._value

    def __html__(self) -> str:
        return str(self)  # a URL-safe base64 string: nothing to escape
