"""Rate limiting: at most N requests per period per client (or per any key), answering 429.

Limits use the generic cell rate algorithm (a token bucket with one number per key): a client
may spend its whole allowance in a burst, then one request per `period / N`. `Retry-After`
says when the next request will pass. Counters live in memory (one process) or in Redis
(shared by every process and machine).

    @app.post("/login")
    @rate_limit("5/minute")                      # per client address
    def login(...): ...

    @app.get("/api/items")
    @rate_limit("1000/hour", key=lambda request: request.headers.get("x-api-key"))
    def items(...): ...
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..errors import ConfigurationError, HTTPError

if TYPE_CHECKING:
    from ..requests import Request

F = TypeVar("F", bound=Callable[..., Any])
KeyFunc = Callable[["Request"], Any]

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE = re.compile(r"\s*(\d+)\s*(?:/|per)\s*(\d*)\s*(second|minute|hour|day)s?\s*\Z", re.I)


@dataclass(frozen=True)
class Rate:
    """`limit` requests per `period` seconds."""

    limit: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Read "5/minute", "100 per hour", "10/30second"."""
        match = _RATE_RE.match(text)
        if not match or int(match.group(1)) < 1:
            raise ConfigurationError(
                f"Rate {text!r} is not understood; write it like '5/minute', '100/hour' or "
                "'10/30second' (units: second, minute, hour, day)."
            )
        count = int(match.group(2) or 1)
        return cls(int(match.group(1)), count * _PERIODS[match.group(3).lower()])

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}s"


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, and when a refused client may retry."""

    allowed: bool
    retry_after: float
    remaining: int


class RateLimitStorage(Protocol):
    """Where the per-key state lives. `hit` is atomic across everyone sharing the storage."""

    def hit(self, key: str, rate: Rate) -> Decision: ...


# Clock readings are floats: `(now + interval) - period` may land an ulp above `now` for a
# fresh key, which would refuse a first request. Refusals need the debt to exceed the
# allowance by more than this (seconds), in both storages.
_TOLERANCE = 1e-6


def _gcra(tat: float, now: float, rate: Rate) -> tuple[Decision, float]:
    interval = rate.period / rate.limit
    tat = max(tat, now)
    new_tat = tat + interval
    allow_at = new_tat - rate.period
    if allow_at - now > _TOLERANCE:
        return Decision(False, allow_at - now, 0), tat
    remaining = int((rate.period - (new_tat - now)) / interval + 1e-9)
    return Decision(True, 0.0, remaining), new_tat


class MemoryRateLimitStorage:
    """Counters in this process's memory; fine for one process, not shared across workers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()
        self._sweep_at = 1024

    def hit(self, key: str, rate: Rate) -> Decision:
        with self._lock:
            now = self._clock()
            decision, tat = _gcra(self._tats.get(key, now), now, rate)
            tats = self._tats
            tats[key] = tat
            if len(tats) >= self._sweep_at:
                # Forget keys whose bucket is full again, so memory follows the active clients;
                # the threshold doubles, so sweeping costs O(1) per hit on average.
                self._tats = {k: t for k, t in tats.items() if t > now}
                self._sweep_at = max(1024, 2 * len(self._tats))
            return decision


_GCRA_SCRIPT = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local period = tonumber(ARGV[1])
local interval = period / tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if allow_at - now > tonumber(ARGV[3]) then
  return {0, tostring(allow_at - now), 0}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000))
return {1, '0', math.floor((period - (new_tat - now)) / interval + 0.000000001)}
"""


class RedisRateLimitStorage:
    """Counters in Redis (one atomic script per hit, Redis's clock), shared by all processes."""

    def __init__(self, client: Any, prefix: str = "trellis:ratelimit:") -> None:
        if isinstance(client, str):
            import redis

            client = redis.Redis.from_url(client)
        self.redis = client
        self.prefix = prefix
        self._script = client.register_script(_GCRA_SCRIPT)

    def hit(self, key: str, rate: Rate) -> Decision:
        allowed, retry_after, remaining = self._script(
            keys=[self.prefix + key], args=[rate.period, rate.limit, _TOLERANCE]
        )
        return Decision(bool(allowed), float(retry_after), int(remaining))


def storage_from_setting(value: str | None) -> RateLimitStorage:
    """The storage RATE_LIMIT_STORAGE names: "memory" or a redis:// URL."""
    if not value or value == "memory":
        return MemoryRateLimitStorage()
    if value.startswith(("redis://", "rediss://", "unix://")):
        return RedisRateLimitStorage(value)
    raise ConfigurationError(
        f"RATE_LIMIT_STORAGE {value!r} is unknown; use memory or a redis:// URL."
    )


def client_address(request: Request) -> str:
    """The client's IP address (X-Forwarded-For counts only behind TRUSTED_PROXIES)."""
    client = request.client
    return client[0] if client else "unknown"


@dataclass(frozen=True)
class Limit:
    """One limit on a route: the rate, how requests are grouped, and a name for the counters."""

    rate: Rate
    key: KeyFunc
    scope: str
    storage: RateLimitStorage | None = None  # None: the app's RATE_LIMIT_STORAGE

    def check(self, request: Request, default_storage: RateLimitStorage) -> None:
        """Count the request; raise 429 with Retry-After when it is over the limit."""
        key = self.key(request)
        if key is None:
            return  # requests the key function does not group are not limited
        decision = (self.storage or default_storage).hit(f"{self.scope}:{key}", self.rate)
        if not decision.allowed:
            retry = max(1, math.ceil(decision.retry_after))
            raise HTTPError(
                429,
                f"Too many requests: the limit is {self.rate.limit} per "
                f"{self.rate.period:g} seconds. Try again in {retry} seconds.",
                {"retry-after": str(retry)},
            )


def rate_limit(
    rate: str,
    *,
    key: KeyFunc = client_address,
    storage: RateLimitStorage | None = None,
    scope: str | None = None,
) -> Callable[[F], F]:
    """Limit a handler to `rate` ("5/minute") per `key(request)` (the client address by default).

    Several limits may be stacked. `storage` overrides the app's RATE_LIMIT_STORAGE.
    """
    parsed = Rate.parse(rate)

    def decorator(func: F) -> F:
        name = scope or f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', func)}"
        limits: list[Limit] = list(getattr(func, "__trellis_rate_limits__", ()))
        limits.append(Limit(parsed, key, f"{name}:{parsed}", storage))
        func.__trellis_rate_limits__ = tuple(limits)  # type: ignore[attr-defined]
        return func

    return decorator


def global_rate_limit_middleware(rate: str, storage: RateLimitStorage) -> Callable[..., Any]:
    """A middleware limiting every request per client address (the RATE_LIMIT setting)."""
    limit = Limit(Rate.parse(rate), client_address, f"global:{rate}")

    def global_rate_limit(request: Request) -> Any:
        limit.check(request, storage)
        yield

    return global_rate_limit
