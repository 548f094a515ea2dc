"""`Database`: one app's engine, its request-scoped sessions, and their transactions.

    db = Database(app)

    @app.post("/users")
    def create_user(data: NewUser, session: Session) -> dict:
        session.add(User(email=data.email))
        return {"ok": True}

A handler that takes a `Session` (or `AsyncSession`, in an `async def` handler) gets the
request's session. Its transaction is decided once, where the handler ends:

- the handler returns: the session commits, before the response is built, so a commit that
  fails (a unique violation found at flush) still becomes a 409 instead of a 200 that lied;
  returning a 5xx response counts as failure and rolls back;
- the handler raises anything, `HTTPError` included (a 404 from `get_or_404`, a 422): rollback.

The session is closed when the request is over (sync) or right after the handler (async, whose
objects cannot lazy-load anyway). A handler may commit or roll back itself at any time; the
automatic commit then finds nothing left to do.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading
import typing
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy.ext.asyncio
import sqlalchemy.orm
from sqlalchemy import Engine, MetaData
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from ..errorpages import http_error_response, server_error_response
from ..errors import ConfigurationError, HTTPError
from ..handlers import is_async_callable
from ..responses import Response
from ..templates import Template
from .engine import DatabaseConfig, create_async_engine_for, create_sync_engine
from .errors import ConflictError, conflict_response, translate
from .models import Model
from .sessions import AsyncSession, Session

if TYPE_CHECKING:
    from ..app import App
    from ..requests import Request
    from ..routing import Route

_SYNC_SESSION_TYPES: tuple[type[Any], ...] = (Session, sqlalchemy.orm.Session)
_ASYNC_SESSION_TYPES: tuple[type[Any], ...] = (AsyncSession, sqlalchemy.ext.asyncio.AsyncSession)
_STATE_KEY = "db_session"
_databases: weakref.WeakKeyDictionary[App, Database] = weakref.WeakKeyDictionary()


class Database:
    """An app's database: engine from DATABASE_URL, sessions per request, models' metadata.

    `model` is the declarative base whose tables this database holds (`trellis.db.Model` by
    default). The instance folder (home of the default SQLite file) and the migrations folder
    sit next to the module that creates the Database, unless INSTANCE_PATH or MIGRATIONS_PATH
    say otherwise.
    """

    def __init__(
        self,
        app: App | None = None,
        *,
        model: type[DeclarativeBase] = Model,
        root_path: str | Path | None = None,
    ) -> None:
        self.model = model
        self.metadata: MetaData = model.metadata
        if root_path is None:
            caller = sys._getframe(1).f_globals.get("__file__")
            root_path = Path(caller).resolve().parent if caller else Path.cwd()
        self.root_path = Path(root_path)
        self.app: App | None = None
        self._config: DatabaseConfig | None = None
        self._engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._async_sessions: async_sessionmaker[AsyncSession] | None = None
        # Engines are made on first use (no connection, no file before that), once.
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    @classmethod
    def of(cls, app: App) -> Database:
        """The Database attached to `app` (the CLI finds it this way)."""
        try:
            return _databases[app]
        except KeyError:
            raise ConfigurationError(
                "This app has no database: create one with `db = Database(app)`."
            ) from None

    # -- set-up --

    def init_app(self, app: App) -> None:
        """Attach to `app`: read its settings, inject sessions, map database errors."""
        if app in _databases:
            raise ConfigurationError("This app already has a Database; an app can have one.")
        _databases[app] = self
        self.app = app
        settings = app.settings
        self.instance_path = Path(settings.get("INSTANCE_PATH") or self.root_path / "instance")
        self.migrations_path = Path(
            settings.get("MIGRATIONS_PATH") or self.root_path / "migrations"
        )
        self._config = DatabaseConfig.from_settings(settings, self.instance_path)
        for annotation in _SYNC_SESSION_TYPES:
            app.provide(annotation, self._request_session)
        for annotation in _ASYNC_SESSION_TYPES:
            app.provide(annotation, self._request_async_session)
        app.teardown(self._close_request_session)
        app.errorhandler(ConflictError)(_render_conflict)
        app.errorhandler(SQLAlchemyError)(self._render_database_error)
        app.on_shutdown(self.dispose)
        # Handlers that take a session get their transaction wrapped, once, at registration.
        app._on_add.append(self._wrap_route)
        for route in app.routes:
            self._wrap_route(route)

    @property
    def config(self) -> DatabaseConfig:
        if self._config is None:
            raise ConfigurationError("The Database is not attached to an app: call init_app(app).")
        return self._config

    @property
    def url(self) -> str:
        """The database URL with any password hidden (safe to print)."""
        return self.config.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use; connections open lazily)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = create_sync_engine(self.config)
        return self._engine

    @property
    def async_engine(self) -> AsyncEngine:
        """The async engine, for async sessions (aiosqlite or psycopg's async mode)."""
        if self._async_engine is None:
            with self._lock:
                if self._async_engine is None:
                    self._async_engine = create_async_engine_for(self.config)
        return self._async_engine

    @property
    def sessionmaker(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        return self._sessions

    @property
    def async_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        if self._async_sessions is None:
            self._async_sessions = async_sessionmaker(
                self.async_engine, class_=AsyncSession, expire_on_commit=False
            )
        return self._async_sessions

    def models(self) -> dict[str, type[Any]]:
        """The mapped classes of this database's model base, by class name."""
        return {mapper.class_.__name__: mapper.class_ for mapper in self.model.registry.mappers}

    # -- sessions outside requests --

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session for scripts, the CLI and tests: commits if the block succeeds, rolls back
        if it raises, always closes."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextlib.asynccontextmanager
    async def async_session(self) -> AsyncIterator[AsyncSession]:
        """The async form of `session()`."""
        session = self.async_sessionmaker()
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()

    def create_all(self) -> None:
        """Create every table of the models that does not exist yet (prototypes and tests;
        use migrations for a database that lives on)."""
        self.metadata.create_all(self.engine)

    def drop_all(self) -> None:
        """Drop every table of the models."""
        self.metadata.drop_all(self.engine)

    @contextlib.contextmanager
    def isolated(self) -> Iterator[sqlalchemy.Connection]:
        """Run the block in one transaction that is rolled back at the end: a test fixture.

        Sessions made inside, request sessions included, share that transaction; their commits
        become savepoints, so the application behaves as usual and the test still leaves
        nothing behind. Sync sessions only.
        """
        pool = self.engine.pool
        connection = self.engine.connect()
        transaction = connection.begin()
        previous = self._sessions
        self._sessions = sessionmaker(
            bind=connection,
            class_=Session,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield connection
        finally:
            self._sessions = previous
            if transaction.is_active:
                transaction.rollback()
            if self.engine.pool is not pool:
                # The app shut down (disposing the pool) inside the block: nothing would
                # close this connection once it is checked in, so close it for real.
                connection.invalidate()
            connection.close()

    async def dispose(self) -> None:
        """Close every pooled connection (the app's shutdown does this)."""
        if self._async_engine is not None:
            await self._async_engine.dispose()
        if self._engine is not None:
            self._engine.dispose()

    # -- the request's session --

    def _request_session(self, request: Request) -> Session:
        state = request.state
        session: Session | None = getattr(state, _STATE_KEY, None)
        if session is None:
            session = self.sessionmaker()
            session.info["trellis.where"] = f"{request.method} {request.path}"
            setattr(state, _STATE_KEY, session)
        return session

    def _request_async_session(self, request: Request) -> AsyncSession:
        session = self.async_sessionmaker()
        session.info["trellis.where"] = f"{request.method} {request.path}"
        return session

    def _close_request_session(self, request: Request, exc: BaseException | None) -> None:
        # PERF: most requests never touched request.state; do not create it here.
        if request._state is None:
            return
        session = getattr(request._state, _STATE_KEY, None)
        if session is not None:
            delattr(request._state, _STATE_KEY)
            session.close()

    def _render_database_error(self, request: Request, exc: SQLAlchemyError) -> Response:
        # Errors from sessions the handler opened itself (`with db.session()`), or raised
        # outside a handler: the same answers as inside one, else the usual 500.
        error = translate(exc, self.metadata, f"{request.method} {request.path}")
        if isinstance(error, ConflictError):
            return conflict_response(request, error)
        if error is not None:
            return http_error_response(request, error)
        return server_error_response(request, exc, request.app.settings.debug)

    # -- transactions around handlers --

    def _wrap_route(self, route: Route) -> None:
        endpoint = route.endpoint
        if getattr(endpoint, "__trellis_db__", False):
            return
        sync_names, async_names = _session_parameters(endpoint)
        if not sync_names and not async_names:
            return
        is_async = is_async_callable(endpoint)
        if async_names and not is_async:
            raise ConfigurationError(
                f"{_describe(endpoint)} takes an AsyncSession but is not `async def`; take a "
                "Session in a sync handler, or make the handler async."
            )
        if is_async:
            wrapper = _async_transaction(endpoint, sync_names + async_names, self.metadata)
        else:
            wrapper = _sync_transaction(endpoint, sync_names[0], self.metadata)
        wrapper.__trellis_db__ = True  # type: ignore[attr-defined]
        route.endpoint = wrapper
        assert self.app is not None
        self.app._compile_route(route)


def _session_parameters(endpoint: Callable[..., Any]) -> tuple[list[str], list[str]]:
    target: Any = endpoint
    while isinstance(target, functools.partial):
        target = target.func
    if not inspect.isfunction(target) and not inspect.ismethod(target):
        target = getattr(target, "__call__", target)  # noqa: B004 - a callable object
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):
        return [], []  # compile_handler reports unreadable signatures
    sync_names, async_names = [], []
    for name in inspect.signature(endpoint).parameters:
        hint = hints.get(name)
        if hint in _SYNC_SESSION_TYPES:
            sync_names.append(name)
        elif hint in _ASYNC_SESSION_TYPES:
            async_names.append(name)
    return sync_names, async_names


def _failed(result: Any) -> bool:
    """A returned 5xx response means the handler failed: its writes roll back."""
    if isinstance(result, Response | Template):
        return result.status >= 500
    if type(result) is tuple and len(result) >= 2 and isinstance(result[1], int):
        return bool(result[1] >= 500)
    return False


def _translated(exc: SQLAlchemyError, session: Any, metadata: MetaData) -> HTTPError | None:
    return translate(exc, metadata, session.info.get("trellis.where", "a request"))


def _sync_transaction(
    endpoint: Callable[..., Any], name: str, metadata: MetaData
) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def with_transaction(**kwargs: Any) -> Any:
        session: Session = kwargs[name]
        try:
            result = endpoint(**kwargs)
            if _failed(result):
                session.rollback()
            else:
                session.commit()
            return result
        except SQLAlchemyError as exc:
            _rollback_quietly(session)
            error = _translated(exc, session, metadata)
            if error is None:
                raise
            raise error from exc
        except BaseException:
            _rollback_quietly(session)
            raise

    return with_transaction


def _async_transaction(
    endpoint: Callable[..., Any], names: list[str], metadata: MetaData
) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    async def with_transaction(**kwargs: Any) -> Any:
        sessions = [kwargs[name] for name in dict.fromkeys(names)]
        try:
            result = await endpoint(**kwargs)
            for session in sessions:
                outcome = session.rollback() if _failed(result) else session.commit()
                if inspect.isawaitable(outcome):
                    await outcome
            return result
        except SQLAlchemyError as exc:
            for session in sessions:
                await _arollback_quietly(session)
            error = _translated(exc, sessions[0], metadata)
            if error is None:
                raise
            raise error from exc
        except BaseException:
            for session in sessions:
                await _arollback_quietly(session)
            raise
        finally:
            for session in sessions:
                if isinstance(session, sqlalchemy.ext.asyncio.AsyncSession):
                    await session.close()

    return with_transaction


def _rollback_quietly(session: Session) -> None:
    # If the connection is gone, rollback fails too; closing the session discards it.
    with contextlib.suppress(SQLAlchemyError):
        session.rollback()


async def _arollback_quietly(session: Any) -> None:
    try:
        outcome = session.rollback()
        if inspect.isawaitable(outcome):
            await outcome
    except SQLAlchemyError:
        pass


def _render_conflict(request: Request, exc: ConflictError) -> Response:
    return conflict_response(request, exc)


def _describe(endpoint: Any) -> str:
    return f"{getattr(endpoint, '__module__', '?')}.{getattr(endpoint, '__qualname__', endpoint)}"
