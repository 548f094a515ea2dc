"""Secrets stay secret: not in reprs, logs or error pages; signed data follows key rotation."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from trellis import App, Request, Settings
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]
KEY = "key-that-must-never-leak-4242"
OLD_KEY = "old-key-that-must-never-leak-4343"


def test_settings_repr_hides_the_secret_keys() -> None:
    settings = Settings.load({"SECRET_KEY": KEY, "SECRET_KEY_FALLBACKS": [OLD_KEY]}, environ={})

    text = repr(settings)

    assert KEY not in text
    assert OLD_KEY not in text


def test_signing_keys_put_the_current_key_last() -> None:
    settings = Settings.load({"SECRET_KEY": KEY, "SECRET_KEY_FALLBACKS": ["a", "b"]}, environ={})

    assert settings.signing_keys("Test") == ["b", "a", KEY]


def test_the_session_cookie_never_reaches_the_logs(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(settings={"SECRET_KEY": KEY, "CSRF_ENABLED": False})

    @app.post("/set")
    def set_value(request: Request) -> None:
        request.session["token"] = "session-secret-value"

    client = make_client(app)
    caplog.set_level(logging.DEBUG)
    client.post("/set")
    cookie = client.cookies["session"]
    client.get("/missing?token=query-secret-value")

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("trellis"))
    assert "GET /missing 404" in logged  # the access log did run
    assert cookie not in logged
    assert "query-secret-value" not in logged
    assert KEY not in logged


def test_the_debug_error_page_does_not_dump_settings(make_client: MakeClient) -> None:
    app = App(settings={"SECRET_KEY": KEY, "DEBUG": True})

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    response = make_client(app).get("/crash", headers={"Accept": "text/html"})

    assert response.status_code == 500
    assert KEY not in response.text
