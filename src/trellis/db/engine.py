"""Engines from settings: the URL, pool defaults, and what each database needs on connect.

Settings (all optional; `TRELLIS_` environment variables or `App(settings={...})`):

DATABASE_URL                 default `sqlite:///<instance folder>/app.db`; a relative SQLite
                             path (`sqlite:///blog.db`) is relative to the instance folder
DATABASE_POOL_SIZE           connections kept open per process (default 5)
DATABASE_MAX_OVERFLOW        extra connections allowed under load (default 10)
DATABASE_POOL_TIMEOUT        seconds to wait for a free connection (default 10)
DATABASE_POOL_RECYCLE        seconds before a connection is replaced (default 1800)
DATABASE_CONNECT_TIMEOUT     seconds to wait for the server when connecting (default 5)
DATABASE_STATEMENT_TIMEOUT   milliseconds a statement may run (PostgreSQL; default none)
DATABASE_BUSY_TIMEOUT        milliseconds SQLite waits for another writer's lock (default 5000)
DATABASE_ECHO                log every SQL statement (default false)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..errors import ConfigurationError
from ..settings import Settings


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    """The database settings of one app, parsed and checked once at start-up."""

    url: URL
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 10.0
    pool_recycle: int = 1800
    connect_timeout: int = 5
    statement_timeout_ms: int | None = None
    # SQLite waits this long for another writer's lock before "database is locked" (a 503).
    busy_timeout_ms: int = 5000
    echo: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, instance_path: Path) -> DatabaseConfig:
        """Read DATABASE_* settings; a bad value raises ConfigurationError naming it."""
        raw_url = settings.get("DATABASE_URL")
        if not raw_url:
            url = URL.create("sqlite", database=str(instance_path / "app.db"))
        else:
            try:
                url = make_url(str(raw_url))
            except ArgumentError:
                raise ConfigurationError(
                    "DATABASE_URL is not a database URL; use for example "
                    "sqlite:///path/app.db or postgresql+psycopg://user@host/dbname."
                ) from None
        database = url.database
        if (
            url.get_backend_name() == "sqlite"
            and database
            and database != ":memory:"
            and not database.startswith("file:")
            and not Path(database).is_absolute()
        ):
            # sqlite:///app.db means the instance folder, wherever the command was started.
            url = url.set(database=str(instance_path / database))
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            # psycopg 3 is the PostgreSQL driver Trellis installs ([postgres] extra).
            url = url.set(drivername="postgresql+psycopg")
        return cls(
            url=url,
            pool_size=_number(settings, "DATABASE_POOL_SIZE", 5, int),
            max_overflow=_number(settings, "DATABASE_MAX_OVERFLOW", 10, int),
            pool_timeout=_number(settings, "DATABASE_POOL_TIMEOUT", 10.0, float),
            pool_recycle=_number(settings, "DATABASE_POOL_RECYCLE", 1800, int),
            connect_timeout=_number(settings, "DATABASE_CONNECT_TIMEOUT", 5, int),
            statement_timeout_ms=_number(settings, "DATABASE_STATEMENT_TIMEOUT", None, int),
            busy_timeout_ms=_number(settings, "DATABASE_BUSY_TIMEOUT", 5000, int),
            echo=_flag(settings, "DATABASE_ECHO"),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_memory(self) -> bool:
        return self.is_sqlite and self.url.database in (None, "", ":memory:")

    def async_url(self) -> URL | None:
        """The URL for an async engine, or None when the driver has no async mode."""
        backend, driver = self.url.get_backend_name(), self.url.get_driver_name()
        if backend == "sqlite" and driver in ("pysqlite", "aiosqlite"):
            return self.url.set(drivername="sqlite+aiosqlite")
        if backend == "postgresql" and driver in ("psycopg", "psycopg_async", "asyncpg"):
            return self.url
        return None


def _number(settings: Settings, name: str, default: Any, kind: type) -> Any:
    value = settings.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {value!r}.") from None
    if number < 0:
        raise ConfigurationError(f"{name} cannot be negative, got {value!r}.")
    return number


def _flag(settings: Settings, name: str) -> bool:
    value = settings.get(name, False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _engine_options(config: DatabaseConfig) -> dict[str, Any]:
    options: dict[str, Any] = {"echo": config.echo, "pool_pre_ping": True}
    if config.is_sqlite:
        if config.is_memory:
            # One shared in-memory database for every thread of the process.
            from sqlalchemy.pool import StaticPool

            options["poolclass"] = StaticPool
            options["connect_args"] = {"check_same_thread": False}
        else:
            options["connect_args"] = {"timeout": config.busy_timeout_ms / 1000}
        return options
    options.update(
        pool_size=config.pool_size,
        max_overflow=config.max_overflow,
        pool_timeout=config.pool_timeout,
        pool_recycle=config.pool_recycle,
    )
    if config.url.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {"connect_timeout": config.connect_timeout}
        if config.statement_timeout_ms:
            connect_args["options"] = f"-c statement_timeout={config.statement_timeout_ms}"
        options["connect_args"] = connect_args
    return options


def create_sync_engine(config: DatabaseConfig) -> Engine:
    """The engine sync sessions use; SQLite gets WAL, foreign keys and real transactions."""
    if config.is_sqlite and not config.is_memory and config.url.database:
        Path(config.url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(config.url, **_engine_options(config))
    if config.is_sqlite:
        _configure_sqlite(engine, config.busy_timeout_ms)
    return engine


def create_async_engine_for(config: DatabaseConfig) -> AsyncEngine:
    """The engine async sessions use (aiosqlite for SQLite, psycopg's async mode for PostgreSQL)."""
    url = config.async_url()
    if url is None:
        raise ConfigurationError(
            f"The database driver {config.url.drivername!r} has no async mode, so handlers "
            "cannot take an AsyncSession. Use a sync handler with Session, or a URL such as "
            "postgresql+psycopg://... or sqlite:///... (with aiosqlite installed)."
        )
    options = _engine_options(config)
    if config.is_sqlite and config.is_memory:
        raise ConfigurationError(
            "An in-memory SQLite database cannot be shared with async sessions; use a file "
            "(sqlite:///path/app.db) for async handlers."
        )
    try:
        engine = create_async_engine(url, **options)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"Async sessions on {url.get_backend_name()} need the {exc.name!r} package: "
            "pip install 'trellis[sqlite-async]'."
        ) from None
    if config.is_sqlite:
        _configure_sqlite(engine.sync_engine, config.busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself, so transactions (and SAVEPOINTs) behave as on
        # other databases instead of pysqlite's implicit-transaction rules.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
