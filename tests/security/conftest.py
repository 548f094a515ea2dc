"""Fixtures for the attack suite: a login-enabled app, and the real Redis and PostgreSQL.

Redis and PostgreSQL are shared with other test runs: tests use a random key prefix or a
temporary database of their own and remove only what they created. Without the service the
tests skip locally and fail under CI (`CI=true`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from trellis import App

from .support import FAST_HASHER, build_login_app

REDIS_URL = "redis://127.0.0.1:6379/0"


def service_missing(reason: str) -> None:
    """Skip locally, fail under CI: a missing service must not pass CI silently."""
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: these tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A client for the real Redis on 127.0.0.1:6379."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A random key prefix; every key under it is deleted after the test."""
    prefix = f"trellis-test-{secrets.token_hex(6)}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash and verify passwords with cheap argon2 parameters during the test."""
    from trellis.auth import passwords

    monkeypatch.setattr(passwords, "_default_hasher", FAST_HASHER)


@pytest.fixture
def app(fast_passwords: None) -> App:
    return build_login_app()
