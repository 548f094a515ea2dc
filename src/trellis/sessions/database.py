"""Sessions in an SQL database (SQLite, PostgreSQL, ...) through a small SQLAlchemy Core table.

The cookie holds a signed random id; the table `trellis_sessions` holds the SHA-256 of the id,
the JSON data and the expiry. The table is created on first use; `purge_expired()` removes
sessions that ran out (expired rows are never loaded either way).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from . import SessionRecord
from ._signing import SessionIdSigner, storage_key

metadata = sa.MetaData()

sessions_table = sa.Table(
    "trellis_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)


class DatabaseSessionBackend:
    """Sessions in a database. `engine` is a URL (`sqlite:///app.db`) or a SQLAlchemy Engine."""

    # Each load and save is a database round trip: ASGI calls them in the thread pool.
    blocking = True

    def __init__(self, engine: str | sa.Engine, keys: Sequence[str]) -> None:
        self._owns_engine = isinstance(engine, str)
        self.engine = sa.create_engine(engine) if isinstance(engine, str) else engine
        self._signer = SessionIdSigner(keys)
        self._table_ready = False

    def create_table(self) -> None:
        """Create `trellis_sessions` if it does not exist (done on first use)."""
        try:
            metadata.create_all(self.engine, tables=[sessions_table], checkfirst=True)
        except sa.exc.DatabaseError:
            # Another process may have created it between the check and the CREATE.
            if not sa.inspect(self.engine).has_table(sessions_table.name):
                raise
        self._table_ready = True

    def _ready(self) -> None:
        if not self._table_ready:
            self.create_table()

    def load(self, cookie_value: str) -> SessionRecord | None:
        session_id = self._signer.unsign(cookie_value)
        if session_id is None:
            return None
        self._ready()
        query = sa.select(sessions_table.c.data, sessions_table.c.expires_at).where(
            sessions_table.c.id == storage_key(session_id),
            sessions_table.c.expires_at > int(time.time()),
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        try:
            data = orjson.loads(row.data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        return session_id, data, float(row.expires_at)

    def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
        self._ready()
        key = storage_key(session_id)
        values = {"data": orjson.dumps(data).decode(), "expires_at": int(expires_at)}
        with self.engine.begin() as connection:
            updated = connection.execute(
                sa.update(sessions_table).where(sessions_table.c.id == key).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(sessions_table).values(id=key, **values))
        return self._signer.sign(session_id)

    def delete(self, session_id: str) -> None:
        self._ready()
        with self.engine.begin() as connection:
            connection.execute(
                sa.delete(sessions_table).where(sessions_table.c.id == storage_key(session_id))
            )

    def close(self) -> None:
        """Close the connections of an engine this backend made from a URL."""
        if self._owns_engine:
            self.engine.dispose()

    def purge_expired(self) -> int:
        """Delete sessions whose time ran out; returns how many went."""
        self._ready()
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.delete(sessions_table).where(sessions_table.c.expires_at <= int(time.time()))
            )
        return int(result.rowcount)
