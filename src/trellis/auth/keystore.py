"""Where API keys live: one table (`trellis_api_keys`) holding each key's prefix and the hash of
its secret, never the key itself. SQLAlchemy Core with bound parameters only."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from .scopes import APIKey, check_scope

TABLE_NAME = "trellis_api_keys"
KEY_TAG = "trk"
PREFIX_LENGTH = 8
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def generate_key() -> tuple[str, str, str]:
    """A new key: (full key to show once, its prefix, the hash of its secret to store)."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(32)
    return f"{KEY_TAG}_{prefix}_{secret}", prefix, hash_secret(secret)


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret.

    SECURITY: the secret is 256 random bits, so a fast hash is enough (no dictionary to try);
    a slow password hash would only make every API request slow.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """Scopes checked, de-duplicated and sorted; at least one is needed."""
    checked = sorted({check_scope(scope.strip()) for scope in scopes if scope.strip()})
    if not checked:
        raise ValueError("A key needs at least one scope, e.g. --scope models:predict.")
    return checked


def parse_duration(text: str) -> timedelta:
    """Read `30d`, `12h`, `15m`, `90s` or `2w` as a time span."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhdw])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration; write a positive number and a unit, "
            "e.g. 30d, 12h, 15m, 90s or 2w."
        )
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{unit[match.group(2)]: int(match.group(1))})


class StoredKey(NamedTuple):
    """A key as read for authentication: the public record and the hash to compare against."""

    key: APIKey
    secret_hash: str


class KeyNotFoundError(LookupError):
    """No key has the id or prefix that was given."""


def api_keys_table(metadata: sa.MetaData, name: str = TABLE_NAME) -> sa.Table:
    """The API keys table, defined on `metadata` (so migrations of that metadata include it)."""
    existing = metadata.tables.get(name)
    if existing is not None:
        return existing
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_limit", sa.String(40), nullable=True),
    )


class APIKeyStore:
    """API keys in a database table, behind the few operations authentication and the CLI need."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        metadata: sa.MetaData | None = None,
        table_name: str = TABLE_NAME,
    ) -> None:
        # An engine, or a function giving it on first use (so no connection is made early).
        self._engine = engine
        self.table = api_keys_table(metadata if metadata is not None else sa.MetaData(), table_name)

    @property
    def engine(self) -> Engine:
        """The engine the keys live in."""
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    @classmethod
    def from_url(cls, url: str) -> APIKeyStore:
        """A store on the database at `url` (a SQLite file's folder is created if missing)."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        return cls(sa.create_engine(parsed))

    def create_table(self) -> None:
        """Create the table if it does not exist yet."""
        self.table.create(self.engine, checkfirst=True)

    # -- reads --

    def find(self, prefix: str) -> StoredKey | None:
        """The key with this prefix and its secret's hash, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(self.table).where(self.table.c.prefix == prefix)
            ).first()
        if row is None:
            return None
        return StoredKey(_to_key(row._mapping), row.secret_hash)

    def resolve(self, ident: str) -> APIKey:
        """The key whose id (digits) or prefix (with or without `trk_`) is `ident`."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(self.table).where(self._ident(ident))).first()
        if row is None:
            raise KeyNotFoundError(f"No API key has the id or prefix {ident!r}.")
        return _to_key(row._mapping)

    def all(self) -> list[APIKey]:
        """Every key, newest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(self.table).order_by(self.table.c.id.desc()))
            return [_to_key(row._mapping) for row in rows]

    def raw_row(self, ident: str) -> dict[str, Any]:
        """The stored row as a dict (for inspection and tests)."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(self.table).where(self._ident(ident))).first()
        if row is None:
            raise KeyNotFoundError(f"No API key has the id or prefix {ident!r}.")
        return dict(row._mapping)

    # -- writes --

    def create(
        self,
        name: str,
        scopes: list[str],
        *,
        owner: str | None = None,
        expires_in: timedelta | None = None,
        rate_limit: str | None = None,
    ) -> tuple[APIKey, str]:
        """Store a new key; returns its record and the full key text (shown once)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("A key needs a name of 1 to 100 characters, e.g. --name ci.")
        checked = normalize_scopes(scopes)
        if rate_limit is not None:
            from ..security.ratelimit import Rate

            Rate.parse(rate_limit)
        now = _now()
        values = {
            "name": name,
            "owner": owner,
            "scopes": " ".join(checked),
            "created_at": now,
            "expires_at": now + expires_in if expires_in is not None else None,
            "rate_limit": rate_limit,
        }
        for _attempt in range(5):
            plain, prefix, digest = generate_key()
            try:
                with self.engine.begin() as connection:
                    result = connection.execute(
                        sa.insert(self.table).values(**values, prefix=prefix, secret_hash=digest)
                    )
                    key_id = result.inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError:
                continue  # the random prefix was taken; draw another
            return self.resolve(str(key_id)), plain
        raise RuntimeError("Could not find a free key prefix after 5 attempts.")

    def revoke(self, ident: str) -> APIKey:
        """Mark the key revoked (kept for the record); revoking twice keeps the first time."""
        key = self.resolve(ident)
        if key.revoked_at is None:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.update(self.table).where(self.table.c.id == key.id).values(revoked_at=_now())
                )
        return self.resolve(str(key.id))

    def rotate(self, ident: str) -> tuple[APIKey, str]:
        """Replace the key's secret and prefix; the old key text stops working."""
        key = self.resolve(ident)
        if key.revoked_at is not None:
            raise ValueError(f"The key {key.prefix} is revoked; create a new one instead.")
        for _attempt in range(5):
            plain, prefix, digest = generate_key()
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        sa.update(self.table)
                        .where(self.table.c.id == key.id)
                        .values(prefix=prefix, secret_hash=digest)
                    )
            except IntegrityError:
                continue
            return self.resolve(str(key.id)), plain
        raise RuntimeError("Could not find a free key prefix after 5 attempts.")

    def touch(self, key_id: int, when: datetime) -> None:
        """Record that the key was used at `when`."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(self.table).where(self.table.c.id == key_id).values(last_used_at=when)
            )

    def _ident(self, ident: str) -> sa.ColumnElement[bool]:
        ident = ident.strip()
        if ident.isdigit():
            return self.table.c.id == int(ident)
        prefix = ident.removeprefix(f"{KEY_TAG}_").split("_", 1)[0]
        return self.table.c.prefix == prefix


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _to_key(row: Any) -> APIKey:
    created = _aware(row["created_at"])
    assert created is not None
    return APIKey(
        id=int(row["id"]),
        name=row["name"],
        owner=row["owner"],
        prefix=row["prefix"],
        scopes=frozenset(check_scope(s) for s in row["scopes"].split()),
        created_at=created,
        expires_at=_aware(row["expires_at"]),
        last_used_at=_aware(row["last_used_at"]),
        revoked_at=_aware(row["revoked_at"]),
        rate_limit=row["rate_limit"],
    )
