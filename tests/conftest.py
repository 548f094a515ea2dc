"""Shared fixtures: every HTTP-level test runs under both WSGI and ASGI."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from trellis import App
from trellis.testing import TestClient


@pytest.fixture(params=["wsgi", "asgi"])
def protocol(request: pytest.FixtureRequest) -> str:
    """The server protocol the test runs under."""
    return str(request.param)


@pytest.fixture
def app() -> App:
    """A fresh app with default settings (no .env, no TRELLIS_* environment)."""
    return App(settings={})


@pytest.fixture
def make_client(protocol: str) -> Iterator[Callable[..., TestClient]]:
    """Build a started TestClient for an app under the current protocol; closed after the test."""
    clients: list[TestClient] = []

    def make(app: App, **options: Any) -> TestClient:
        client = TestClient(app, protocol=protocol, **options)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(app: App, make_client: Callable[..., TestClient]) -> TestClient:
    """A client for the `app` fixture; register routes on `app` before or after taking it."""
    return make_client(app)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: Any) -> None:
    """Keep the developer's TRELLIS_* variables and .env out of the tests."""
    import os

    for key in list(os.environ):
        if key.startswith("TRELLIS_"):
            monkeypatch.delenv(key)


POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test run and dropped afterwards (its URL).

    Fails under CI=true when the server is unreachable; skips otherwise.
    """
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    name = f"trellis_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
