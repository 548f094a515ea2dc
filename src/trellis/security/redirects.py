"""Safe redirect targets: only paths on this site, never `//evil.example` or `javascript:`."""

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
