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


def security_headers(settings: Settings) -> Callable[[Request, Response], None] | None:
    """A response finisher adding the configured headers; None when SECURITY_HEADERS is off.

    It runs in `App.finish`, so every response gets the headers, whatever produced it: a
    handler, an error page, a refused Host or a 429.
    """
    if not settings.security_headers:
        return None
    policy = settings.content_security_policy
    # PERF: the header list is built once; each response only checks which names it already has.
    static: list[tuple[str, str]] = [("x-content-type-options", "nosniff")]
    if settings.frame_options:
        static.append(("x-frame-options", settings.frame_options))
    if settings.referrer_policy:
        static.append(("referrer-policy", settings.referrer_policy))
    if settings.cross_origin_opener_policy:
        static.append(("cross-origin-opener-policy", settings.cross_origin_opener_policy))
    hsts = (
        ("strict-transport-security", f"max-age={settings.hsts_seconds}; includeSubDomains")
        if settings.hsts_seconds > 0
        else None
    )

    names = frozenset([name for name, _ in static] + [_CSP])
    # PERF: without trusted proxies the scheme is the server's own; skip the property chain.
    behind_proxies = bool(settings.trusted_networks)
    # PERF: the usual response has none of these headers yet: one extend of a ready list.
    usual = [*static, (_CSP, policy)] if policy else list(static)

    def add_security_headers(request: Request, response: Response) -> None:
        raw = response.raw_headers
        state = request._state
        nonce = getattr(state, "csp_nonce", None) if state is not None else None
        usual_case = nonce is None
        if usual_case:
            for name, _ in raw:
                if name in names:
                    usual_case = False
                    break
        if usual_case:
            raw.extend(usual)
        else:
            present = {name for name, _ in raw}
            raw.extend(header for header in static if header[0] not in present)
            if policy and _CSP not in present:
                raw.append((_CSP, add_nonce(policy, nonce) if nonce else policy))
        if hsts is not None and (
            request.is_secure if behind_proxies else request._raw_scheme() == "https"
        ):
            for name, _ in raw:
                if name == "strict-transport-security":
                    break
            else:
                raw.append(hsts)

    return add_security_headers
