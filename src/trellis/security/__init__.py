"""Security defaults every app gets: security headers, host checks, CSRF, CORS, rate limits.

`install_security(app)` (called by `App()`) adds what the settings ask for; each piece lives
in its own module. Per-route rules (CSRF opt-out, `login_required`, rate limits) are read
from the route once, on its first request, and applied by one before-request check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from .csrf import SAFE_METHODS, CSRFProtection, csrf_exempt, get_csrf_token
from .headers import csp_nonce
from .ratelimit import Limit, Rate, RateLimitStorage, client_address, rate_limit
from .redirects import is_safe_redirect, safe_redirect_target, safe_url

if TYPE_CHECKING:
    from ..app import App
    from ..requests import Request
    from ..routing import Route

__all__ = [
    "csp_nonce",
    "csrf_exempt",
    "get_csrf_token",
    "install_security",
    "is_safe_redirect",
    "rate_limit",
    "safe_redirect_target",
    "safe_url",
]


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What to check before a route's handler runs (csrf: check unsafe methods).

    `free_methods` are the route's methods with nothing to check: a set lookup per request.
    """

    csrf: bool
    login_required: bool
    limits: tuple[Limit, ...]
    free_methods: frozenset[str]


class RouteGuard:
    """The before-request check applying each route's policy (rate limits, CSRF, login)."""

    def __init__(self, app: App) -> None:
        settings = app.settings
        self.csrf = (
            CSRFProtection(settings.session_cookie, settings.csrf_trusted_origins)
            if settings.csrf_enabled
            else None
        )
        self._storage_setting = settings.rate_limit_storage
        self._storage: RateLimitStorage | None = None
        self._policies: dict[Route, RoutePolicy] = {}

    @property
    def storage(self) -> RateLimitStorage:
        """Where route rate limits count, from RATE_LIMIT_STORAGE (built on first use)."""
        if self._storage is None:
            from .ratelimit import storage_from_setting

            self._storage = storage_from_setting(self._storage_setting)
        return self._storage

    def policy_of(self, route: Route) -> RoutePolicy:
        """Read the route's options and the markers its handler's decorators left."""
        endpoint = route.endpoint
        options = route.options
        csrf_enabled = self.csrf is not None
        limits: list[Limit] = list(getattr(endpoint, "__trellis_rate_limits__", ()))
        option_rates = options.get("rate_limit") or ()
        for text in [option_rates] if isinstance(option_rates, str) else option_rates:
            rate = Rate.parse(text)
            limits.append(Limit(rate, client_address, f"{route.path}:{rate}"))
        csrf = (
            csrf_enabled
            and options.get("csrf", True) is not False
            and not getattr(endpoint, "__trellis_csrf_exempt__", False)
        )
        login_required = bool(
            options.get("login_required") or getattr(endpoint, "__trellis_login_required__", False)
        )
        if limits or login_required:
            free: frozenset[str] = frozenset()
        else:
            free = route.methods & SAFE_METHODS if csrf else route.methods
        return RoutePolicy(csrf, login_required, tuple(limits), free)

    def hook(self) -> Callable[[Request], Any]:
        """The before-request function (a closure: cheaper per request than a method)."""
        policies = self._policies
        policy_of = self.policy_of
        csrf = self.csrf
        guard = self

        def route_guard(request: Request) -> Any:
            route = request.route
            policy = policies.get(route)
            if policy is None:
                policy = policies[route] = policy_of(route)
            if request.method in policy.free_methods:
                return None  # PERF: most requests (safe methods, no limits, no login)
            for limit in policy.limits:
                limit.check(request, guard.storage)
            if policy.csrf and csrf is not None and request.method not in SAFE_METHODS:
                csrf.check(request)
            if policy.login_required:
                from ..auth.login import require_login

                return require_login(request)
            return None

        return route_guard


def _session_of(request: Request) -> Any:
    return request.session


def _template_context(request: Request) -> dict[str, Any]:
    from ..auth.login import CurrentUserProxy
    from ..sessions import get_flashed_messages
    from .csrf import CSRFTokenValue, csrf_field

    return {
        "csrf_token": CSRFTokenValue(request),
        "csrf_field": partial(csrf_field, request),
        "csp_nonce": partial(csp_nonce, request),
        "current_user": CurrentUserProxy(request),
        "get_flashed_messages": partial(get_flashed_messages, request),
    }


def install_security(app: App) -> None:
    """Add the security middleware and checks the app's settings ask for (App() calls this)."""
    settings = app.settings
    from .headers import security_headers

    headers = security_headers(settings)
    if headers is not None:
        # A finisher, not a middleware: early answers (400 for a bad Host, 429, CORS refusals)
        # get the headers too.
        app._finishers.append(headers)
    if settings.cors_origins:
        from .cors import cors_middleware

        app._middleware.append(
            cors_middleware(
                settings.cors_origins,
                allow_credentials=settings.cors_allow_credentials,
                allow_methods=settings.cors_allow_methods,
                allow_headers=settings.cors_allow_headers,
                expose_headers=settings.cors_expose_headers,
                max_age=settings.cors_max_age,
            )
        )
    guard = RouteGuard(app)
    if settings.rate_limit:
        from .ratelimit import global_rate_limit_middleware

        app._middleware.append(global_rate_limit_middleware(settings.rate_limit, guard.storage))
    app._before.append(guard.hook())
    from ..sessions import Session

    app.provide(Session, _session_of)  # `def handler(session: Session)`
    app.context_processors.append(_template_context)
    app.template_globals.setdefault("safe_url", safe_url)
