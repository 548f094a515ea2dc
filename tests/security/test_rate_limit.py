"""Rate limiting: over the limit answers 429 with Retry-After, per client or per key, in memory
and in the real Redis (shared by every process)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from trellis import App, ConfigurationError, Request
from trellis.security import rate_limit
from trellis.security.ratelimit import (
    MemoryRateLimitStorage,
    Rate,
    RateLimitStorage,
    RedisRateLimitStorage,
)
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest, clock: Clock) -> RateLimitStorage:
    if request.param == "memory":
        return MemoryRateLimitStorage(clock)
    client = request.getfixturevalue("redis_client")
    return RedisRateLimitStorage(client, prefix=request.getfixturevalue("redis_prefix"))


@pytest.fixture
def app(storage: RateLimitStorage) -> App:
    app = App(settings={})

    @app.post("/login")
    @rate_limit("3/minute", storage=storage)
    def login() -> str:
        return "tried"

    @app.get("/api")
    @rate_limit("2/hour", key=lambda r: r.headers.get("x-api-key"), storage=storage)
    def api() -> str:
        return "data"

    return app


def test_requests_within_the_limit_pass(client: TestClient) -> None:
    assert [client.post("/login").status_code for _ in range(3)] == [200, 200, 200]


def test_the_request_over_the_limit_is_429_with_retry_after(client: TestClient) -> None:
    for _ in range(3):
        client.post("/login")

    response = client.post("/login")

    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 20
    assert "Too many requests" in response.json()["detail"]


def test_limits_are_per_key(client: TestClient) -> None:
    for _ in range(2):
        assert client.get("/api", headers={"X-API-Key": "one"}).status_code == 200

    assert client.get("/api", headers={"X-API-Key": "one"}).status_code == 429
    assert client.get("/api", headers={"X-API-Key": "two"}).status_code == 200


def test_requests_without_a_key_are_not_counted(client: TestClient) -> None:
    assert all(client.get("/api").status_code == 200 for _ in range(4))


def test_the_allowance_comes_back_over_time(make_client: MakeClient, clock: Clock) -> None:
    storage = MemoryRateLimitStorage(clock)
    app = App(settings={})
    app.post("/login")(rate_limit("3/minute", storage=storage)(lambda: "tried"))
    client = make_client(app)
    for _ in range(3):
        client.post("/login")
    assert client.post("/login").status_code == 429

    clock.now += 20  # one request's worth (60 s / 3)

    assert client.post("/login").status_code == 200
    assert client.post("/login").status_code == 429


def test_clients_behind_a_trusted_proxy_are_told_apart(make_client: MakeClient) -> None:
    app = App(settings={"TRUSTED_PROXIES": "127.0.0.1"})
    app.get("/")(rate_limit("1/minute", storage=MemoryRateLimitStorage())(lambda: "ok"))
    client = make_client(app)

    assert client.get("/", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert client.get("/", headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 200
    assert client.get("/", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429


def test_a_route_option_sets_a_limit(make_client: MakeClient) -> None:
    app = App(settings={})
    app.get("/", rate_limit="1/minute")(lambda: "ok")
    client = make_client(app)

    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 429


def test_the_rate_limit_setting_limits_every_request(make_client: MakeClient) -> None:
    app = App(settings={"RATE_LIMIT": "2/minute"})
    app.get("/")(lambda: "ok")
    client = make_client(app)

    statuses = [client.get("/").status_code, client.get("/").status_code]
    statuses.append(client.get("/missing").status_code)

    assert statuses == [200, 200, 429]


def test_redis_storage_is_shared_between_app_instances(
    redis_client: Any, redis_prefix: str, make_client: MakeClient
) -> None:
    clients = []
    for _ in range(2):  # two processes' worth of apps, one Redis
        app = App(settings={})
        storage = RedisRateLimitStorage(redis_client, prefix=redis_prefix)
        app.get("/")(rate_limit("2/minute", storage=storage, scope="shared")(lambda: "ok"))
        clients.append(make_client(app))

    statuses = [clients[0].get("/").status_code, clients[1].get("/").status_code]
    statuses.append(clients[0].get("/").status_code)

    assert statuses == [200, 200, 429]


def test_the_rate_limit_storage_setting_takes_a_redis_url(
    redis_client: Any, make_client: MakeClient
) -> None:
    app = App(
        settings={
            "RATE_LIMIT": "1/minute",
            "RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0",
            "TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    app.get("/")(lambda: "ok")
    client = make_client(app)
    # A random client address (via the trusted proxy) keeps this key apart from other runs.
    address = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    headers = {"X-Forwarded-For": address}
    try:
        statuses = [client.get("/", headers=headers).status_code for _ in range(2)]
    finally:
        redis_client.delete(f"trellis:ratelimit:global:1/minute:{address}")

    assert statuses == [200, 429]


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("5/minute", Rate(5, 60)),
        ("100 per hour", Rate(100, 3600)),
        ("10/30second", Rate(10, 30)),
        ("1/day", Rate(1, 86400)),
    ],
)
def test_rates_are_read_from_text(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "5", "0/minute", "five/minute", "5/fortnight"])
def test_a_bad_rate_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="5/minute"):
        Rate.parse(text)


def test_memory_storage_forgets_idle_clients(clock: Clock) -> None:
    storage = MemoryRateLimitStorage(clock)
    rate = Rate(1, 1)
    for i in range(10_000):
        storage.hit(f"early-{i}", rate)
    clock.now += 5

    for i in range(10_000):
        storage.hit(f"late-{i}", rate)

    assert not any(key.startswith("early-") for key in storage._tats)


def test_the_limited_request_never_reaches_the_handler(make_client: MakeClient) -> None:
    calls: list[int] = []
    app = App(settings={})

    @app.post("/")
    @rate_limit("1/minute", storage=MemoryRateLimitStorage())
    def handler(request: Request) -> str:
        calls.append(1)
        return "ok"

    client = make_client(app)
    client.post("/")
    client.post("/")

    assert calls == [1]


@pytest.mark.parametrize("now", [32747.59256063586, 1000.0])
def test_a_fresh_client_is_allowed_whatever_the_clock_reads(now: float) -> None:
    # At the first reading (now + 60) - 60 rounds to just above now; an exact float comparison
    # refused the first request of a 1/minute limit.
    clock = Clock()
    clock.now = now
    storage = MemoryRateLimitStorage(clock)

    assert [storage.hit("client", Rate(1, 60)).allowed for _ in range(2)] == [True, False]
