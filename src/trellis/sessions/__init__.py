"""Sessions: `request.session`, a dict-like store kept between requests of one browser.

The session is loaded on first use and written back only when it changed, so a request that never
touches it costs nothing and gets no Set-Cookie. Where the data lives is a backend's business:
the default signed cookie (`CookieSessionBackend`), Redis (`RedisSessionBackend`) or an SQL
database (`DatabaseSessionBackend`). Tampered, expired or unknown cookies give an empty session.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..auth.login import LoginManager
    from ..requests import Request
    from ..responses import Response
    from ..settings import Settings

__all__ = [
    "Session",
    "SessionBackend",
    "SessionManager",
    "SessionRecord",
    "flash",
    "get_flashed_messages",
    "new_session_id",
]

# Keys the framework keeps in the session next to the application's own.
PERMANENT_KEY = "_permanent"
FLASHES_KEY = "_flashes"

SessionRecord = tuple[str, dict[str, Any], float]
"""What a backend loads: (session id, data, expiry as a Unix time)."""


def new_session_id() -> str:
    """A fresh, unguessable session id (256 random bits)."""
    return secrets.token_urlsafe(32)


class SessionBackend(Protocol):
    """Where session data lives. The cookie holds whatever `save` returns.

    A backend that does no I/O may set `blocking = False` so that ASGI calls it on the event
    loop; otherwise, under ASGI, its calls run in the thread pool.
    """

    def load(self, cookie_value: str) -> SessionRecord | None:
        """The session a cookie names, or None when it is unknown, tampered with or expired."""

    def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
        """Store the data until `expires_at`; return the cookie value that names it."""

    def delete(self, session_id: str) -> None:
        """Forget a session (logout, id rotation); unknown ids are ignored."""


class Session(MutableMapping[str, Any]):
    """The data of one browser session, with what changed tracked for saving.

    Changing a mutable value in place (`session["cart"].append(x)`) is not seen: set
    `session.modified = True` afterwards, or assign the value again.
    """

    __slots__ = ("_data", "expires_at", "id", "modified", "new", "stale_ids")

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        session_id: str | None = None,
        expires_at: float = 0.0,
    ) -> None:
        self._data: dict[str, Any] = data if data is not None else {}
        self.new = session_id is None
        self.id = session_id or new_session_id()
        self.expires_at = expires_at
        self.modified = False
        # Ids this request retired (login, logout); their server-side records are deleted.
        self.stale_ids: list[str] = []

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {sorted(self._data)}>"

    @property
    def data(self) -> dict[str, Any]:
        """The stored dict itself (JSON-serialisable values only)."""
        return self._data

    @property
    def permanent(self) -> bool:
        """True when the cookie outlives the browser (remember-me), for REMEMBER_ME_MAX_AGE."""
        return bool(self._data.get(PERMANENT_KEY))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        if value:
            self[PERMANENT_KEY] = True
        elif PERMANENT_KEY in self._data:
            del self[PERMANENT_KEY]

    def regenerate(self) -> None:
        """Keep the data under a new id (call on login: defeats session fixation)."""
        if not self.new:
            self.stale_ids.append(self.id)
        self.id = new_session_id()
        self.new = True
        self.modified = True

    def invalidate(self) -> None:
        """Drop all data and the id (call on logout: the old cookie no longer works)."""
        self._data.clear()
        self.regenerate()


class SessionManager:
    """Loads and saves the sessions of one app, through its backend (chosen by settings)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cookie_name = settings.session_cookie
        self._backend: SessionBackend | None = None
        # Whether loading and saving wait on I/O (Redis, a database), so that under ASGI they run
        # in the thread pool rather than on the event loop. Decided from the setting here:
        # building the backend may need keys or URLs an app that never uses sessions lacks.
        self.blocking = (settings.session_backend or "cookie").lower() != "cookie"
        # Logins live in the session; LoginManager(app) registers itself here.
        self.login_manager: LoginManager | None = None

    @property
    def backend(self) -> SessionBackend:
        """The backend in use, built from SESSION_BACKEND on first use."""
        if self._backend is None:
            self._backend = self._backend_from_settings()
        return self._backend

    def use(self, backend: SessionBackend) -> None:
        """Keep sessions in `backend` instead of what the settings say."""
        self._backend = backend
        # A backend says whether it blocks; one that does not say is taken to block.
        self.blocking = bool(getattr(backend, "blocking", True))

    def _backend_from_settings(self) -> SessionBackend:
        settings = self.settings
        kind = (settings.session_backend or "cookie").lower()
        keys = settings.signing_keys("Sessions")
        if kind == "cookie":
            from .cookie import CookieSessionBackend

            return CookieSessionBackend(keys)
        if kind == "redis":
            from .redis import RedisSessionBackend

            url = settings.get("SESSION_REDIS_URL") or settings.get("REDIS_URL")
            if not url:
                raise ConfigurationError(
                    "SESSION_BACKEND=redis needs REDIS_URL (TRELLIS_REDIS_URL), "
                    "e.g. redis://127.0.0.1:6379/0."
                )
            return RedisSessionBackend(str(url), keys)
        if kind == "database":
            from .database import DatabaseSessionBackend

            url = settings.get("SESSION_DATABASE_URL") or settings.get("DATABASE_URL")
            if not url:
                raise ConfigurationError(
                    "SESSION_BACKEND=database needs DATABASE_URL (TRELLIS_DATABASE_URL), "
                    "e.g. sqlite:///app.db."
                )
            return DatabaseSessionBackend(str(url), keys)
        raise ConfigurationError(
            f"SESSION_BACKEND {settings.session_backend!r} is unknown; "
            "use cookie, redis or database."
        )

    def lifetime(self, session: Session) -> int:
        """Seconds a session lives after it was last saved."""
        if session.permanent:
            return self.settings.remember_me_max_age
        return self.settings.session_max_age

    def load(self, request: Request) -> Session:
        """The request's session: the stored one, or a new empty one (never an error)."""
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return Session()
        record = self.backend.load(raw)
        if record is None or record[2] <= time.time():
            session = Session()
            session.modified = True  # replace the useless cookie
            return session
        session_id, data, expires_at = record
        session = Session(data, session_id, expires_at)
        # Sliding expiry without a write per request: refresh once half the lifetime is gone.
        if expires_at - time.time() < self.lifetime(session) / 2:
            session.modified = True
        return session

    def save(self, request: Request, response: Response) -> None:
        """Write the session back and set its cookie, if it changed (the app calls this)."""
        session = request._session
        if session is None:
            return
        backend = self.backend
        for stale in session.stale_ids:
            backend.delete(stale)
        session.stale_ids.clear()
        if not session.modified:
            return
        had_cookie = self.cookie_name in request.cookies
        if not session:
            if had_cookie:
                response.delete_cookie(self.cookie_name)
            if not session.new:
                backend.delete(session.id)
            return
        lifetime = self.lifetime(session)
        value = backend.save(session.id, session.data, time.time() + lifetime)
        if len(value) > 4000:
            raise ConfigurationError(
                f"The session is {len(value)} bytes, too big for a cookie (browsers keep about "
                "4 KB). Store less in it, or use SESSION_BACKEND=redis or database."
            )
        response.set_cookie(
            self.cookie_name,
            value,
            max_age=lifetime if session.permanent else None,
            httponly=True,
            samesite="lax",
        )
        session.modified = False


# -- flash messages --


def flash(request: Request, message: str, category: str = "info") -> None:
    """Keep `message` for the next page this browser shows (after a redirect, typically)."""
    session = request.session
    messages = list(session.get(FLASHES_KEY, ()))
    messages.append([category, str(message)])
    session[FLASHES_KEY] = messages


def get_flashed_messages(
    request: Request,
    with_categories: bool = False,
    category_filter: tuple[str, ...] | list[str] = (),
) -> list[Any]:
    """Take the pending flash messages out of the session (each is shown once).

    Messages are plain text: templates escape them like any other value.
    """
    if request._session is None and request.app.sessions.cookie_name not in request.cookies:
        return []  # PERF: no cookie, no messages; do not create a session to find out
    session = request.session
    pending = session.get(FLASHES_KEY)
    if not pending:
        return []
    taken = [m for m in pending if not category_filter or m[0] in category_filter]
    left = [m for m in pending if m not in taken]
    if left:
        session[FLASHES_KEY] = left
    else:
        del session[FLASHES_KEY]
    if with_categories:
        return [(category, message) for category, message in taken]
    return [message for _, message in taken]
