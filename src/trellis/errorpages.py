"""How errors look to clients: problem+json (RFC 9457) for programs, an HTML page for people."""

from __future__ import annotations

import traceback
from html import escape
from typing import TYPE_CHECKING, Any

from .errors import HTTPError, ValidationError
from .negotiation import best_match
from .responses import HTMLResponse, Response, dump_json

if TYPE_CHECKING:
    from .requests import Request

_OFFERS = ("application/json", "text/html")


def wants_html(request: Request) -> bool:
    """True when the client ranks HTML above JSON (browsers); API clients and `*/*` get JSON."""
    accept = request.headers.get("accept")
    if not accept:
        return False
    return best_match(accept, _OFFERS) == "text/html"


def http_error_response(request: Request, error: HTTPError) -> Response:
    """Render an HTTPError in the format the client prefers."""
    headers = dict(error.headers)
    errors = error.errors if isinstance(error, ValidationError) else None
    if wants_html(request):
        return HTMLResponse(
            _html_page(error.status, error.title, str(error.detail), errors), error.status, headers
        )
    return problem_response(error.status, error.title, error.detail, errors, headers)


def problem_response(
    status: int,
    title: str,
    detail: Any,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An application/problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(dump_json(body), status, headers, "application/problem+json")


def server_error_response(request: Request, exc: BaseException, debug: bool) -> Response:
    """A 500 that shows the traceback only in debug mode and leaks nothing otherwise."""
    detail = "The server hit an unexpected error. It has been logged."
    if not debug:
        if wants_html(request):
            return HTMLResponse(_html_page(500, "Internal Server Error", detail, None), 500)
        return problem_response(500, "Internal Server Error", detail)
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    if wants_html(request):
        page = _html_page(500, "Internal Server Error", f"{type(exc).__name__}: {exc}", None)
        trace = escape("".join(lines))
        page = page.replace("</main>", f"<pre>{trace}</pre></main>")
        return HTMLResponse(page, 500)
    return problem_response(
        500,
        "Internal Server Error",
        f"{type(exc).__name__}: {exc}",
        extra={"traceback": "".join(lines).splitlines()},
    )


def _html_page(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None) -> str:
    items = ""
    if errors:
        rows = "".join(
            f"<li><code>{escape(str(e['field']))}</code>: {escape(str(e['message']))}</li>"
            for e in errors
        )
        items = f"<ul>{rows}</ul>"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{status} {escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:3rem;color:#222}"
        "pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head>"
        f"<body><main><h1>{status} {escape(title)}</h1><p>{escape(detail)}</p>{items}</main>"
        "</body></html>"
    )
