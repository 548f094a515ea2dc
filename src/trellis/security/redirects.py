"""Safe URLs: redirect targets limited to this site, and links limited to harmless schemes."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_safe_redirect(target: str | None) -> bool:
    """True when `target` is a path on this site that a redirect may send the browser to."""
    if not target or not target.startswith("/"):
        return False
    # SECURITY: "//host" and "/\\host" are other sites to browsers; control characters
    # (CR/LF, tab) could split headers or be dropped by browsers to form "//".
    if target.startswith(("//", "/\\")) or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_redirect_target(target: str | None, fallback: str = "/") -> str:
    """`target` when it is safe to redirect to (see `is_safe_redirect`), else `fallback`."""
    return target if target is not None and is_safe_redirect(target) else fallback


_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def safe_url(url: str | None, fallback: str = "#") -> str:
    """`url` when it is harmless in `href`/`src` (http, https, mailto or relative), else
    `fallback`. Autoescaping stops markup, not `javascript:` links: use this for user URLs."""
    if not url:
        return fallback
    # Browsers drop tabs, newlines and other control characters inside a scheme
    # ("java\tscript:"), so judge the URL the way they read it.
    cleaned = "".join(c for c in url if ord(c) > 32 and ord(c) != 127)
    head = cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if ":" in head and head.split(":", 1)[0].lower() not in _LINK_SCHEMES:
        return fallback
    return url
