"""Sessions in Redis: the cookie holds a signed random id, the data lives under a key with a TTL.

Any number of processes and machines share the sessions. Keys are `<prefix><sha256(id)>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from . import SessionRecord
from ._signing import SessionIdSigner, storage_key


class RedisSessionBackend:
    """Sessions in Redis. `client` is a URL (`redis://127.0.0.1:6379/0`) or a `redis.Redis`."""

    # Each load and save is a Redis round trip: ASGI calls them in the thread pool.
    blocking = True

    def __init__(self, client: Any, keys: Sequence[str], prefix: str = "trellis:session:") -> None:
        self._owns_client = isinstance(client, str)
        if isinstance(client, str):
            import redis

            client = redis.Redis.from_url(client)
        self.redis = client
        self.prefix = prefix
        self._signer = SessionIdSigner(keys)

    def load(self, cookie_value: str) -> SessionRecord | None:
        session_id = self._signer.unsign(cookie_value)
        if session_id is None:
            return None
        raw = self.redis.get(self.prefix + storage_key(session_id))
        if raw is None:
            return None
        try:
            record = orjson.loads(raw)
            data, expires_at = record["d"], float(record["e"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        return session_id, data, expires_at

    def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
        value = orjson.dumps({"d": data, "e": int(expires_at)})
        self.redis.set(self.prefix + storage_key(session_id), value, exat=int(expires_at))
        return self._signer.sign(session_id)

    def delete(self, session_id: str) -> None:
        self.redis.delete(self.prefix + storage_key(session_id))

    def close(self) -> None:
        """Close the connections of a client this backend made from a URL."""
        if self._owns_client:
            self.redis.close()
