"""Shared fixtures: every HTTP-level test runs under both WSGI and ASGI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

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
