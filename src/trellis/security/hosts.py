"""Host header validation against ALLOWED_HOSTS, so forged Host headers cannot poison URLs."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import HTTPError
from ..requests import Request

# SECURITY: a Host value must be a plain name or IP literal with an optional port; anything else
# (userinfo, paths, fragments) could make "evil.com/.example.org" pass a suffix rule.
_HOST_RE = re.compile(r"(?:[a-z0-9.-]+|\[[a-f0-9:.]+\])(?::[0-9]+)?\Z")
_ACCEPTED_CACHE_SIZE = 256


def split_host(host: str) -> str:
    """The host name of a Host header value, lower-case, without the port."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal, e.g. [::1]:8000
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_check(
    allowed_hosts: list[str], behind_proxies: bool = False
) -> Callable[[Request], None] | None:
    """A check refusing hosts not in `allowed_hosts` with 400; None when "*" allows all.

    The app runs it first for every request, before any middleware.

    Entries are exact names (`example.com`, `127.0.0.1`, `[::1]`) or, starting with a dot,
    a domain and all its subdomains (`.example.com`). `behind_proxies` says TRUSTED_PROXIES is
    set, so X-Forwarded-Host from a trusted proxy may name the host.
    """
    patterns = [h.strip().lower() for h in allowed_hosts if h.strip()]
    if "*" in patterns:
        return None
    exact = frozenset(p for p in patterns if not p.startswith("."))
    suffixes = tuple(p for p in patterns if p.startswith("."))

    def allowed(name: str) -> bool:
        return name in exact or any(
            name.endswith(suffix) or name == suffix[1:] for suffix in suffixes
        )

    # PERF: Host values already accepted, so the usual request costs one dict lookup. Bounded,
    # since clients choose the value (only allowed names get in, but ports and case vary).
    accepted: dict[str, None] = {}

    def check_host(request: Request) -> None:
        # PERF: with no trusted proxies `request.host` is the Host header when there is one;
        # read it straight from the adapter.
        raw = request.host if behind_proxies else (request._host or request.host)
        if raw not in accepted:
            if not _HOST_RE.match(raw.strip().lower()) or not allowed(split_host(raw)):
                detail = f"The Host header {raw!r} is not served here."
                if request.app.settings.debug:
                    detail += " Add it to the ALLOWED_HOSTS setting (TRELLIS_ALLOWED_HOSTS)."
                raise HTTPError(400, detail)
            if len(accepted) < _ACCEPTED_CACHE_SIZE:
                accepted[raw] = None

    return check_host
