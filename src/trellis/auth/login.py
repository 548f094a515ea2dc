"""Logging users in and out on top of sessions, without imposing a user model.

    auth = LoginManager(app, login_url="/login")

    @auth.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

`login(request, user)` starts an authenticated session under a new id; `logout(request)` ends
it; `current_user(request)` gives the user or None; `@login_required` protects a handler
(a redirect to the login page for browsers, 401 for API clients).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from ..errors import ConfigurationError, HTTPError
from ..responses import RedirectResponse

if TYPE_CHECKING:
    from ..app import App
    from ..requests import Request

F = TypeVar("F", bound=Callable[..., Any])

USER_KEY = "_user_id"
_UNSET: Any = object()


class UserMixin:
    """Ready-made parts for a user class: `get_id()` from `id`, password helpers, `is_active`."""

    id: Any
    password_hash: str | None = None
    is_active: bool = True

    def get_id(self) -> str:
        """The value stored in the session to find this user again (`str(self.id)`)."""
        return str(self.id)

    def set_password(self, password: str) -> None:
        """Store an argon2 hash of `password` in `password_hash`."""
        from .passwords import hash_password

        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        """True when `password` is right; upgrades `password_hash` if its parameters are old
        (save the user afterwards to keep the upgrade)."""
        from .passwords import verify_and_update

        ok, new_hash = verify_and_update(self.password_hash, password)
        if new_hash is not None:
            self.password_hash = new_hash
        return ok


class LoginManager:
    """Login support for one app: how to load a user from the session, where to log in."""

    def __init__(
        self,
        app: App,
        *,
        load_user: Callable[[str], Any] | None = None,
        login_url: str = "/login",
        user_type: type | None = None,
    ) -> None:
        self.app = app
        self.login_url = login_url
        self._load_user = load_user
        app.sessions.login_manager = self
        if user_type is not None:
            # `def page(user: User | None)` receives the current user (or None).
            app.provide(user_type, self.current_user)
            app.provide(user_type | None, self.current_user)

    def user_loader(self, func: F) -> F:
        """Register `func(user_id: str) -> user | None`, called once per request that asks."""
        self._load_user = func
        return func

    def current_user(self, request: Request) -> Any:
        """The logged-in user of this request, or None (loaded once per request)."""
        state = request.state
        user = getattr(state, "trellis_user", _UNSET)
        if user is not _UNSET:
            return user
        user = None
        if request._session is not None or request.app.sessions.cookie_name in request.cookies:
            user_id = request.session.get(USER_KEY)
            if user_id is not None:
                if self._load_user is None:
                    raise ConfigurationError(
                        "LoginManager has no user loader; decorate a function "
                        "`load_user(user_id: str) -> user | None` with @login_manager.user_loader."
                    )
                user = self._load_user(str(user_id))
                if user is not None and not getattr(user, "is_active", True):
                    user = None
        state.trellis_user = user
        return user


def _manager(request: Request) -> LoginManager:
    manager = request.app.sessions.login_manager
    if manager is None:
        raise ConfigurationError(
            "Login needs a LoginManager: create one with LoginManager(app, login_url=...) and "
            "give it a user loader."
        )
    return manager


def current_user(request: Request) -> Any:
    """The user logged in on this request's session, or None."""
    return _manager(request).current_user(request)


def login(request: Request, user: Any, *, remember: bool = False) -> None:
    """Log `user` in: the session gets a new id (no fixation) and a new CSRF token.

    `remember=True` keeps the login after the browser closes, for REMEMBER_ME_MAX_AGE seconds.
    """
    from ..security.csrf import TOKEN_KEY

    get_id = getattr(user, "get_id", None)
    user_id = get_id() if callable(get_id) else getattr(user, "id", None)
    if user_id is None:
        raise TypeError("login() needs a user with get_id() (see UserMixin) or an `id`.")
    session = request.session
    session.regenerate()
    session.pop(TOKEN_KEY, None)
    session[USER_KEY] = str(user_id)
    session.permanent = remember
    request.state.trellis_user = user


def logout(request: Request) -> None:
    """End the login: the session's data and id are dropped (the old cookie stops working
    with server-side sessions); flash messages added afterwards still reach the next page."""
    request.session.invalidate()
    request.state.trellis_user = None


def login_required(func: F) -> F:
    """Only logged-in users reach the handler: browsers are redirected to the login page
    (with `?next=`), API clients get 401."""
    func.__trellis_login_required__ = True  # type: ignore[attr-defined]
    return func


def require_login(request: Request) -> Any:
    """None when a user is logged in; otherwise the redirect or the 401 error (route guard)."""
    manager = _manager(request)
    if manager.current_user(request) is not None:
        return None
    from ..errorpages import wants_html

    if wants_html(request) and request.method in ("GET", "HEAD"):
        target = request.root_path + request.path
        if request.query_string:
            target += "?" + request.query_string.decode("latin-1")
        separator = "&" if "?" in manager.login_url else "?"
        return RedirectResponse(f"{manager.login_url}{separator}next={quote(target, safe='')}", 303)
    raise HTTPError(
        401, "Log in first: this page needs a logged-in user.", {"www-authenticate": "Session"}
    )


class CurrentUserProxy:
    """`current_user` in templates: the user is loaded only if the template looks at it."""

    __slots__ = ("_request", "_user")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._user: Any = _UNSET

    def _get(self) -> Any:
        if self._user is _UNSET:
            manager = self._request.app.sessions.login_manager
            self._user = manager.current_user(self._request) if manager is not None else None
        return self._user

    def __bool__(self) -> bool:
        return self._get() is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __str__(self) -> str:
        user = self._get()
        return "" if user is None else str(user)

    def __eq__(self, other: object) -> bool:
        return bool(self._get() == other)

    def __hash__(self) -> int:
        return hash(self._get())

    @property
    def is_authenticated(self) -> bool:
        """True when a user is logged in."""
        return self._get() is not None
