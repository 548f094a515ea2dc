"""The default session backend: all data in a signed (not encrypted) cookie.

The cookie is `itsdangerous`-signed JSON carrying the session id, its expiry and the data, so no
server storage is needed and any process can read it. The data is readable by the browser's user:
keep secrets out of it. Keys rotate: SECRET_KEY signs, SECRET_KEY_FALLBACKS still verify.

A copied cookie stays valid until it expires, even after logout, because nothing on the server
remembers that it ended; use the Redis or database backend where that matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from itsdangerous import BadData, URLSafeSerializer

from . import SessionRecord

_SALT = "trellis.session"


class _JSON:
    """orjson behind the json-module interface itsdangerous expects (never pickle)."""

    @staticmethod
    def dumps(value: Any) -> str:
        return orjson.dumps(value).decode()

    @staticmethod
    def loads(value: str | bytes) -> Any:
        return orjson.loads(value)


class CookieSessionBackend:
    """Sessions stored in the cookie itself, signed with the app's keys (oldest first)."""

    # Signing and checking the cookie is CPU work only: ASGI calls it on the event loop.
    blocking = False

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("CookieSessionBackend needs at least one signing key.")
        self._serializer = URLSafeSerializer(list(keys), salt=_SALT, serializer=_JSON)

    def load(self, cookie_value: str) -> SessionRecord | None:
        try:
            payload = self._serializer.loads(cookie_value)
        except (BadData, ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(payload, dict):
            return None
        session_id, expires_at, data = payload.get("i"), payload.get("e"), payload.get("d")
        if not isinstance(session_id, str) or not isinstance(data, dict):
            return None
        if not isinstance(expires_at, int | float):
            return None
        return session_id, data, float(expires_at)

    def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
        return str(self._serializer.dumps({"i": session_id, "e": int(expires_at), "d": data}))

    def delete(self, session_id: str) -> None:
        """Nothing to delete: the data lives only in the browser."""
