"""Scopes: what an API key may do, and what a route requires.

A route requires scopes through the `@requires_scope("models:predict")` decorator. A key grants
a scope by naming it, by a wildcard over its group
(`models:*` grants `models:predict`), or with `*` (everything).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from ..errors import ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])

SCOPE_RE = re.compile(r"(?:\*|[A-Za-z0-9_.-]+(?::(?:\*|[A-Za-z0-9_.-]+))*)\Z")
_SCOPES_ATTR = "__trellis_scopes__"


def check_scope(scope: str) -> str:
    """Return `scope` if it is well formed (`name`, `group:action`, `group:*` or `*`)."""
    if not isinstance(scope, str) or not SCOPE_RE.match(scope):
        raise ValueError(
            f"{scope!r} is not a valid scope: use letters, digits, '.', '_', '-', groups "
            "separated by ':' (e.g. 'models:predict'), 'group:*' or '*'."
        )
    return scope


def grants(granted: Iterable[str], required: str) -> bool:
    """True when the `granted` scopes include `required` (directly or by a wildcard)."""
    for scope in granted:
        if scope == required or scope == "*":
            return True
        if scope.endswith(":*") and required.startswith(scope[:-1]):
            return True
    return False


@dataclasses.dataclass(frozen=True)
class APIKey:
    """The API key a request authenticated with (never the secret itself).

    Inject it into a handler by annotation: `def predict(body: Features, key: APIKey)`.
    """

    id: int
    name: str
    owner: str | None
    prefix: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    rate_limit: str | None = None

    def has_scope(self, scope: str) -> bool:
        """True when this key grants `scope`."""
        return grants(self.scopes, scope)

    def missing_scopes(self, required: Iterable[str]) -> list[str]:
        """The scopes in `required` this key does not grant, sorted."""
        return sorted(scope for scope in required if not grants(self.scopes, scope))

    def is_active(self, now: datetime) -> bool:
        """Not revoked and not expired at `now`."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


# The key the authenticator accepted for the request being handled; the guard that
# `requires_scope` puts around a handler reads it, so a protected handler never runs unchecked.
current_api_key: contextvars.ContextVar[APIKey | None] = contextvars.ContextVar(
    "trellis_api_key", default=None
)


def requires_scope(*scopes: str) -> Callable[[F], F]:
    """Require an API key granting every one of `scopes` for the decorated handler.

    A request without a valid key gets 401 with `WWW-Authenticate`; a key without a scope gets
    403 naming it. The app needs an `APIKeys` authenticator; without one the handler refuses to
    run (500, logged), so a forgotten set-up fails closed.
    """
    required = frozenset(check_scope(scope) for scope in scopes)
    if not required:
        raise ConfigurationError("requires_scope() needs at least one scope.")

    def decorator(func: F) -> F:
        existing = getattr(func, _SCOPES_ATTR, None)
        if existing is not None:  # stacked decorators: the inner one already guards
            setattr(func, _SCOPES_ATTR, existing | required)
            return func
        guarded = _guard(func)
        setattr(guarded, _SCOPES_ATTR, required)
        # Authenticated by a header a foreign page cannot make a browser send, never by the
        # session cookie: cross-site request forgery checks do not apply.
        setattr(guarded, "__trellis_csrf_exempt__", True)  # noqa: B010 - read by the CSRF check
        return guarded

    return decorator


def _guard(func: F) -> F:
    from ..handlers import is_async_callable

    def verify() -> None:
        key = current_api_key.get()
        if key is None:
            raise ConfigurationError(
                f"{getattr(func, '__qualname__', func)} requires API key scopes, but no API key "
                "was checked for this request: install the authenticator with "
                "APIKeys(app, ...)."
            )
        missing = key.missing_scopes(getattr(guarded, _SCOPES_ATTR))
        if missing:  # the authenticator checks first; this only guards against mistakes
            raise ConfigurationError(f"API key {key.prefix} lacks {missing} but reached {func!r}.")

    if is_async_callable(func):

        @functools.wraps(func)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            verify()
            return await func(*args, **kwargs)

        guarded: Any = guarded_async
    else:

        @functools.wraps(func)
        def guarded_sync(*args: Any, **kwargs: Any) -> Any:
            verify()
            return func(*args, **kwargs)

        guarded = guarded_sync
    return guarded  # type: ignore[no-any-return]


def required_scopes(route: Any) -> frozenset[str] | None:
    """The scopes a route's handler requires through `requires_scope`, or None."""
    scopes: frozenset[str] | None = getattr(route.endpoint, _SCOPES_ATTR, None)
    return scopes
