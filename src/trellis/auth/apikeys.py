"""API keys stored in the database as hashes, checked per request with scopes.

    from trellis.auth.apikeys import APIKeys, APIKey, requires_scope

    keys = APIKeys(app)                          # the app's database, table trellis_api_keys

    @app.post("/predict")
    @requires_scope("models:predict")
    def predict(body: Features, key: APIKey) -> Prediction: ...

Create keys with `trellis apikeys create --name ci --scope models:predict --expires 30d`: the
key is printed once and only its SHA-256 is stored. A key looks like `trk_<prefix>_<secret>`; the
prefix (shown in listings and logs) finds the row, the secret is compared as a hash in constant
time. Clients send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`; a key in the query
string is refused, because URLs end up in logs.

Answers: no key or a bad, revoked or expired one -> 401 with `WWW-Authenticate`; a key without a
required scope -> 403 naming the scope; too many requests for a key, or too many failed attempts
from one client -> 429 with `Retry-After`.

Lookups are cached for `cache_ttl` seconds (default 5) in a bounded cache, so a busy key is not a
query per request; revoking or rotating takes effect at once in the process that does it and
within `cache_ttl` everywhere else. `last_used_at` is written at most once per `touch_interval`
seconds (default 60) per key.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import re
import threading
import time
import weakref
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..errors import ConfigurationError, HTTPError
from ..security.ratelimit import Rate, RateLimitStorage, client_address, storage_from_setting
from .keystore import (
    KEY_TAG,
    PREFIX_LENGTH,
    APIKeyStore,
    StoredKey,
    generate_key,
    hash_secret,
    parse_duration,
)
from .scopes import APIKey, current_api_key, required_scopes, requires_scope

if TYPE_CHECKING:
    from ..app import App
    from ..requests import Request
    from ..routing import Route

__all__ = [
    "APIKey",
    "APIKeyStore",
    "APIKeys",
    "generate_key",
    "hash_secret",
    "parse_duration",
    "requires_scope",
]

_KEY_RE = re.compile(rf"{KEY_TAG}_([a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})\Z")
# Query parameter names under which clients commonly (and wrongly) send keys.
_QUERY_KEY_NAMES = frozenset({"api_key", "apikey", "api-key", "x-api-key", "access_token"})
_NOT_LOOKED_UP = object()
# SECURITY: compared against when no row matches, so a miss costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


_authenticators: weakref.WeakKeyDictionary[App, APIKeys] = weakref.WeakKeyDictionary()


class APIKeys:
    """Check API keys on the routes that need them (`@requires_scope`, or an `APIKey` parameter).

    `store` holds the keys: by default the table `trellis_api_keys` in the app's `Database`
    (`trellis.db`; its migrations include the table), else in `database_url` or DATABASE_URL.
    `rate_limit` (e.g. "1000/hour") is every key's default limit, which a key's own `rate_limit`
    overrides; `failure_limit` caps failed attempts per client address. Both count in
    `limit_storage`, by default the app's RATE_LIMIT_STORAGE (memory, or Redis to share the
    counts between processes). `trellis apikeys ...` finds this object through the app.
    """

    def __init__(
        self,
        app: App,
        store: APIKeyStore | None = None,
        *,
        database_url: str | None = None,
        cache_ttl: float = 5.0,
        cache_size: int = 1024,
        touch_interval: float = 60.0,
        rate_limit: str | None = None,
        failure_limit: str = "30/minute",
        limit_storage: RateLimitStorage | None = None,
        create_table: bool = True,
    ) -> None:
        from ..app import App as AppType

        if not isinstance(app, AppType):
            raise ConfigurationError("APIKeys(app, ...) needs the trellis App.")
        self.app = app
        self.store = store if store is not None else _default_store(app, database_url)
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self.touch_interval = touch_interval
        self.default_rate = Rate.parse(rate_limit) if rate_limit else None
        self.failure_rate = Rate.parse(failure_limit)
        # Counters live where the app's rate limits live (RATE_LIMIT_STORAGE: memory or Redis).
        self.limits = limit_storage or storage_from_setting(app.settings.rate_limit_storage)
        self._cache: collections.OrderedDict[str, tuple[float, StoredKey | None]] = (
            collections.OrderedDict()
        )
        self._cache_lock = threading.Lock()
        self._touched: dict[int, float] = {}
        # Client addresses refused for too many failures, and until when (a bounded dict).
        self._blocked: dict[str, float] = {}
        self._requirements: dict[Route, frozenset[str] | None] = {}
        self._rates: dict[str, Rate] = {}
        self.clock = time.monotonic
        _authenticators[app] = self
        app.before_request(self._check_request)
        app.teardown(_forget_current_key)
        app.provide(APIKey, self._provide_key)
        app.on_startup(self._exempt_key_routes_from_csrf)
        self._exempt_key_routes_from_csrf()
        if create_table:
            app.on_startup(self.store.create_table)

    @classmethod
    def of(cls, app: App) -> APIKeys:
        """The authenticator installed on `app` (for the CLI and tests)."""
        found = _authenticators.get(app)
        if found is None:
            raise ConfigurationError(
                "This app has no API keys set up: add `APIKeys(app)` (trellis.auth.apikeys)."
            )
        return found

    # -- per request --

    def _requirement(self, route: Route) -> frozenset[str] | None:
        requirement = self._requirements.get(route, _NOT_LOOKED_UP)
        if requirement is _NOT_LOOKED_UP:
            requirement = required_scopes(route)
            if (
                requirement is None
                and route.call is not None
                and any(
                    p.source == "provided" and p.annotation is APIKey for p in route.call.parameters
                )
            ):
                requirement = frozenset()
            self._requirements[route] = requirement
        return requirement  # type: ignore[return-value]

    def _check_request(self, request: Request) -> None:
        required = self._requirement(request.route)
        if required is None:
            return None  # PERF: routes without keys pay one dict lookup
        key = self.authenticate(request)
        missing = key.missing_scopes(required)
        if missing:
            scope = " ".join(missing)
            raise HTTPError(
                403,
                f"The API key {KEY_TAG}_{key.prefix} lacks the scope "
                f"{', '.join(repr(s) for s in missing)} needed here; create a key with "
                f"--scope {missing[0]} or add the scope to this one.",
                {"www-authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        self._apply_rate_limit(key)
        request.state.api_key = key
        current_api_key.set(key)
        return None

    def _provide_key(self, request: Request) -> APIKey:
        key: APIKey | None = getattr(request.state, "api_key", None)
        if key is None:
            key = self.authenticate(request)
            request.state.api_key = key
        return key

    def authenticate(self, request: Request) -> APIKey:
        """The valid key `request` carries; raises HTTPError 400/401/429 otherwise."""
        if request.query_string:
            self._refuse_key_in_query(request)
        presented = self._presented_key(request)
        now = self.clock()
        if presented is None:
            raise _unauthorized(
                "This endpoint needs an API key: send it as 'Authorization: Bearer <key>' or "
                "in the X-API-Key header.",
                error=None,
            )
        address = client_address(request)
        # A client over its failure limit is answered before any lookup: a flood of guesses
        # costs the database nothing.
        until = self._blocked.get(address)
        if until is not None and until > now:
            raise _too_many(until - now, "Too many failed API key attempts from this address.")
        key = self._verify(presented, now)
        if key is None:
            decision = self.limits.hit(f"apikey-failures:{address}", self.failure_rate)
            if not decision.allowed:
                self._block(address, now + decision.retry_after, now)
                raise _too_many(
                    decision.retry_after, "Too many failed API key attempts from this address."
                )
            raise _unauthorized("The API key is not valid.")
        wall = datetime.now(UTC)
        if key.revoked_at is not None:
            raise _unauthorized(f"The API key {KEY_TAG}_{key.prefix} has been revoked.")
        if key.expires_at is not None and wall >= key.expires_at:
            raise _unauthorized(f"The API key {KEY_TAG}_{key.prefix} has expired.")
        self._touch(key, now, wall)
        return key

    @staticmethod
    def _presented_key(request: Request) -> str | None:
        headers = request.headers
        header_key = headers.get("x-api-key")
        authorization = headers.get("authorization")
        bearer = None
        if authorization:
            scheme, _, credentials = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                bearer = credentials.strip()
        if header_key is not None and bearer is not None and header_key.strip() != bearer:
            raise HTTPError(400, "Send one API key, not different ones in two headers.")
        found = bearer if bearer is not None else header_key
        return found.strip() if found is not None else None

    @staticmethod
    def _refuse_key_in_query(request: Request) -> None:
        query = request.query
        for name in query:
            if name.lower() in _QUERY_KEY_NAMES or any(
                value.startswith(f"{KEY_TAG}_") for value in query.getlist(name)
            ):
                raise HTTPError(
                    400,
                    "API keys are not accepted in the query string, because URLs end up in "
                    "logs and browser history. Send the key as 'Authorization: Bearer <key>' "
                    "or in the X-API-Key header, and revoke the key you sent.",
                )

    def _verify(self, presented: str, now: float) -> APIKey | None:
        match = _KEY_RE.match(presented)
        if match is None:
            hmac.compare_digest(_DUMMY_HASH, _DUMMY_HASH)
            return None
        prefix, secret = match.groups()
        stored = self._lookup(prefix, now)
        expected = stored.secret_hash if stored is not None else _DUMMY_HASH
        # SECURITY: constant-time comparison of the hashes.
        if not hmac.compare_digest(expected, hash_secret(secret)) or stored is None:
            return None
        return stored.key

    def _lookup(self, prefix: str, now: float) -> StoredKey | None:
        with self._cache_lock:
            cached = self._cache.get(prefix)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(prefix)
                return cached[1]
        stored = self.store.find(prefix)
        if self.cache_ttl > 0:
            with self._cache_lock:
                self._cache[prefix] = (now + self.cache_ttl, stored)
                self._cache.move_to_end(prefix)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return stored

    def _touch(self, key: APIKey, now: float, wall: datetime) -> None:
        last = self._touched.get(key.id)
        if last is not None and now - last < self.touch_interval:
            return
        self._touched[key.id] = now
        if len(self._touched) > self.cache_size * 4:
            self._touched = {
                k: t for k, t in self._touched.items() if now - t < self.touch_interval
            }
        self.store.touch(key.id, wall)

    def _block(self, address: str, until: float, now: float) -> None:
        blocked = self._blocked
        if len(blocked) >= self.cache_size:
            self._blocked = blocked = {a: t for a, t in blocked.items() if t > now}
            if len(blocked) >= self.cache_size:
                return  # the shared counter still refuses them, one lookup each
        blocked[address] = until

    def _apply_rate_limit(self, key: APIKey) -> None:
        rate = self.default_rate
        if key.rate_limit:
            rate = self._rates.get(key.rate_limit)
            if rate is None:
                rate = self._rates[key.rate_limit] = Rate.parse(key.rate_limit)
        if rate is None:
            return
        decision = self.limits.hit(f"apikey:{key.id}", rate)
        if not decision.allowed:
            raise _too_many(
                decision.retry_after, f"The API key {KEY_TAG}_{key.prefix} is over its rate limit."
            )

    def _exempt_key_routes_from_csrf(self) -> None:
        # Routes that take an APIKey are authenticated by a header, not the session cookie.
        for route in self.app.routes:
            if self._requirement(route) is not None:
                route.options.setdefault("csrf", False)
        self._requirements.clear()  # handlers may still be compiled differently at start-up

    def forget(self, prefix: str | None = None) -> None:
        """Drop cached lookups (one prefix, or all) so the next request reads the database."""
        with self._cache_lock:
            if prefix is None:
                self._cache.clear()
            else:
                self._cache.pop(prefix, None)

    # -- managing keys (the CLI uses these) --

    def create(
        self,
        name: str,
        scopes: list[str],
        *,
        owner: str | None = None,
        expires_in: timedelta | None = None,
        rate_limit: str | None = None,
    ) -> tuple[APIKey, str]:
        """Create a key; returns it and the full key text, which is never available again."""
        return self.store.create(
            name, scopes, owner=owner, expires_in=expires_in, rate_limit=rate_limit
        )

    def revoke(self, ident: str) -> APIKey:
        """Revoke the key with this id or prefix."""
        key = self.store.revoke(ident)
        self.forget(key.prefix)
        return key

    def rotate(self, ident: str) -> tuple[APIKey, str]:
        """Give the key a new secret (and prefix); the old key stops working."""
        old = self.store.resolve(ident)
        key, plain = self.store.rotate(ident)
        self.forget(old.prefix)
        return key, plain

    def all(self) -> list[APIKey]:
        """Every key, newest first (revoked and expired ones included)."""
        return self.store.all()


def _default_store(app: App, database_url: str | None) -> APIKeyStore:
    """The app's Database (its engine and metadata, so migrations include the table), else a
    store of its own on `database_url`, DATABASE_URL or SQLite instance/app.db."""
    if database_url is None:
        from ..db import Database

        try:
            database = Database.of(app)
        except ConfigurationError:
            pass
        else:
            return APIKeyStore(lambda: database.engine, metadata=database.metadata)
    url = database_url or app.settings.get("DATABASE_URL") or "sqlite:///instance/app.db"
    return APIKeyStore.from_url(str(url))


def _forget_current_key(request: Request, exc: BaseException | None) -> None:
    # Under WSGI a thread serves request after request in one context: the key accepted for
    # this request must not be seen by the next one (perhaps another app's).
    current_api_key.set(None)


def _unauthorized(detail: str, error: str | None = "invalid_token") -> HTTPError:
    challenge = 'Bearer realm="api"'
    if error:
        challenge += f', error="{error}"'
    return HTTPError(401, detail, {"www-authenticate": challenge})


def _too_many(retry_after: float, detail: str) -> HTTPError:
    seconds = max(1, int(retry_after + 0.999))
    return HTTPError(429, f"{detail} Retry in {seconds} s.", {"retry-after": str(seconds)})
