"""Cross-Origin Resource Sharing: which other origins' scripts may call this app.

Off until CORS_ORIGINS lists origins (`https://app.example.com`) or `*`. Preflight requests
(OPTIONS with Access-Control-Request-Method) are answered here, before routing, and cached by
the browser for CORS_MAX_AGE seconds; other requests from an allowed origin get the
Access-Control-Allow-* headers on their response.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, HTTPError
from ..responses import Response

if TYPE_CHECKING:
    from ..requests import Request


def cors_middleware(
    origins: Iterable[str],
    *,
    allow_credentials: bool = False,
    allow_methods: Iterable[str] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"),
    allow_headers: Iterable[str] = ("accept", "content-type", "authorization", "x-csrf-token"),
    expose_headers: Iterable[str] = (),
    max_age: int = 600,
) -> Callable[[Request], Generator[None, Response, Any]]:
    """A middleware applying this CORS policy; add it with `app.middleware(...)`."""
    allowed = frozenset(o.strip().rstrip("/").lower() for o in origins if o.strip())
    any_origin = "*" in allowed
    if any_origin and allow_credentials:
        raise ConfigurationError(
            "CORS_ORIGINS='*' cannot be combined with CORS_ALLOW_CREDENTIALS: browsers refuse "
            "it, and it would let every site act as the user. List the origins instead."
        )
    methods = ", ".join(m.upper() for m in allow_methods)
    header_names = frozenset(h.strip().lower() for h in allow_headers if h.strip())
    headers_value = ", ".join(sorted(header_names))
    exposed = ", ".join(expose_headers)

    def allow_origin(origin: str) -> str | None:
        if origin.lower() in allowed:
            return origin
        return "*" if any_origin else None

    def common(origin_value: str) -> list[tuple[str, str]]:
        headers = [("access-control-allow-origin", origin_value)]
        if allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if origin_value != "*":
            headers.append(("vary", "Origin"))
        return headers

    def cors(request: Request) -> Generator[None, Response, Any]:
        origin = request.headers.get("origin")
        if origin is None:
            yield
            return None
        granted = allow_origin(origin)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            if granted is None:
                raise HTTPError(
                    403, f"CORS preflight refused: origin {origin[:100]!r} is not allowed."
                )
            wanted = request.headers.get("access-control-request-headers", "")
            unknown = [
                h.strip() for h in wanted.split(",") if h.strip().lower() not in header_names
            ]
            if unknown and any(h for h in unknown):
                raise HTTPError(
                    403,
                    f"CORS preflight refused: header(s) {', '.join(unknown)[:200]} are not "
                    "in CORS_ALLOW_HEADERS.",
                )
            preflight = Response(b"", 204)
            preflight.raw_headers.extend(common(granted))
            preflight.raw_headers.extend(
                [
                    ("access-control-allow-methods", methods),
                    ("access-control-allow-headers", headers_value),
                    ("access-control-max-age", str(max_age)),
                ]
            )
            return preflight
        response = yield
        if granted is not None:
            response.raw_headers.extend(common(granted))
            if exposed:
                response.raw_headers.append(("access-control-expose-headers", exposed))
        return None

    return cors
