"""Security headers on every response: CSP (with per-request nonces), nosniff, framing, referrer,
HSTS over HTTPS and the cross-origin opener policy. Headers a handler set itself are kept."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..requests import Request
    from ..responses import Response
    from ..settings import Settings

_CSP = "content-security-policy"


def csp_nonce(request: Request) -> str:
    """A random nonce for this response's inline `<script nonce=...>` / `<style nonce=...>`.

    Asking for it adds `'nonce-...'` to the script-src and style-src of the response's CSP.
    """
    state = request.state
    nonce: str | None = getattr(state, "csp_nonce", None)
    if nonce is None:
        nonce = state.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def add_nonce(policy: str, nonce: str) -> str:
    """`policy` allowing the nonce for scripts and styles (based on default-src if unset)."""
    directives: dict[str, str] = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name.lower()] = value.strip()
    source = f"'nonce-{nonce}'"
    default = directives.get("default-src", "")
    for name in ("script-src", "style-src"):
        value = directives.get(name, default)
        directives[name] = " ".join(v for v in (value.replace("'none'", "").strip(), source) if v)
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


# Media types a browser shows as data and never runs as a page (no scripts, nothing to click):
# the page policies (CSP, framing, referrer, opener) have nothing to govern on them.
_DATA_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/yaml",
        "application/octet-stream",
        "text/plain",
        "text/csv",
        "text/event-stream",
        "text/css",
    }
)
_DATA_PREFIXES = ("image/", "audio/", "video/", "font/")


def is_data_type(content_type: str | None) -> bool:
    """True for JSON, text, CSV, YAML, event streams, CSS, raster images, audio, video, fonts.

    Everything else counts as a page: HTML, XML, SVG (images that run scripts), scripts (a
    worker takes its CSP from its script's response), PDF, and no content type (browsers sniff).
    """
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    if media in _DATA_TYPES or media.endswith("+json"):
        return True
    return media.startswith(_DATA_PREFIXES) and media != "image/svg+xml"


def security_headers(settings: Settings) -> Callable[[Request, Response], None] | None:
    """A response finisher adding the configured headers; None when SECURITY_HEADERS is off.

    It runs in `App.finish`, so every response gets the headers, whatever produced it: a
    handler, an error page, a refused Host or a 429. `X-Content-Type-Options` (and HSTS over
    HTTPS) go on every response; the page policies go on pages only, unless
    SECURITY_HEADERS_ON_DATA asks for them on data responses too (see `is_data_type`).
    """
    if not settings.security_headers:
        return None
    policy = settings.content_security_policy
    # PERF: the header lists are built once; each response only checks which names it has.
    everywhere = [("x-content-type-options", "nosniff")]
    page: list[tuple[str, str]] = []
    if settings.frame_options:
        page.append(("x-frame-options", settings.frame_options))
    if settings.referrer_policy:
        page.append(("referrer-policy", settings.referrer_policy))
    if settings.cross_origin_opener_policy:
        page.append(("cross-origin-opener-policy", settings.cross_origin_opener_policy))
    hsts = (
        ("strict-transport-security", f"max-age={settings.hsts_seconds}; includeSubDomains")
        if settings.hsts_seconds > 0
        else None
    )
    static = everywhere + page
    names = frozenset([name for name, _ in static] + [_CSP])
    # PERF: without trusted proxies the scheme is the server's own; skip the property chain.
    behind_proxies = bool(settings.trusted_networks)
    # PERF: the usual response has none of these headers yet: one extend of a ready list.
    usual_page = [*static, (_CSP, policy)] if policy else static
    on_data = settings.security_headers_on_data
    usual_data = usual_page if on_data else everywhere
    # PERF: the headers to add, by content type, decided once per distinct value (bounded).
    by_type: dict[str | None, list[tuple[str, str]]] = {}

    def add_security_headers(request: Request, response: Response) -> None:
        raw = response.raw_headers
        content_type = None
        usual_case = True
        for name, value in raw:
            if name == "content-type":
                content_type = value
            elif name in names:
                usual_case = False
        state = request._state
        nonce = getattr(state, "csp_nonce", None) if state is not None else None
        if usual_case and nonce is None:
            extra = by_type.get(content_type)
            if extra is None:
                extra = usual_data if is_data_type(content_type) else usual_page
                if len(by_type) < 256:
                    by_type[content_type] = extra
            raw.extend(extra)
        else:
            present = {name for name, _ in raw}
            page_policies = on_data or not is_data_type(content_type)
            wanted = static if page_policies else everywhere
            raw.extend(header for header in wanted if header[0] not in present)
            if page_policies and policy and _CSP not in present:
                raw.append((_CSP, add_nonce(policy, nonce) if nonce else policy))
        if hsts is not None and (
            request.is_secure if behind_proxies else request._scheme == "https"
        ):
            for name, _ in raw:
                if name == "strict-transport-security":
                    break
            else:
                raw.append(hsts)

    return add_security_headers
