"""Session attacks: tampering, expiry, replay after logout, fixation; cookie flags.

Server-side backends run against the real Redis and databases (SQLite and PostgreSQL).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trellis import App
from trellis.sessions import SessionBackend
from trellis.sessions.cookie import CookieSessionBackend
from trellis.sessions.database import DatabaseSessionBackend
from trellis.sessions.redis import RedisSessionBackend
from trellis.testing import TestClient

from .support import PASSWORD, SECRET_KEY, build_login_app

MakeClient = Callable[..., TestClient]
CREDENTIALS = {"email": "alice@example.com", "password": PASSWORD}


def csrf_token(client: TestClient) -> str:
    token: str = client.get("/token").json()["token"]
    return token


def log_in(client: TestClient, **extra: str) -> Any:
    return client.post(
        "/login", data={**CREDENTIALS, **extra}, headers={"X-CSRF-Token": csrf_token(client)}
    )


def log_out(client: TestClient) -> Any:
    return client.post("/logout", headers={"X-CSRF-Token": csrf_token(client)})


def is_logged_in(client: TestClient) -> bool:
    return client.get("/me", headers={"Accept": "application/json"}).status_code == 200


def session_cookie(client: TestClient) -> str:
    value: str = client.cookies["session"]
    return value


@pytest.fixture(params=["cookie", "redis", "sqlite", "postgres"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(
    backend_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SessionBackend]:
    if backend_name == "cookie":
        yield CookieSessionBackend([SECRET_KEY])
    elif backend_name == "redis":
        client = request.getfixturevalue("redis_client")
        prefix = request.getfixturevalue("redis_prefix")
        yield RedisSessionBackend(client, [SECRET_KEY], prefix=prefix)
    else:
        url = (
            f"sqlite:///{tmp_path / 'sessions.db'}"
            if backend_name == "sqlite"
            else request.getfixturevalue("postgres_url")
        )
        database = DatabaseSessionBackend(url, [SECRET_KEY])
        yield database
        database.close()


@pytest.fixture
def app(backend: SessionBackend, fast_passwords: None) -> App:
    app = build_login_app()
    app.sessions.use(backend)
    return app


# A signed cookie cannot be revoked by the server (documented in sessions/cookie.py): these
# tests are about the server-side stores.
server_side = pytest.mark.parametrize("backend_name", ["redis", "sqlite", "postgres"])


# -- the basics, on every backend --


def test_login_works_and_survives_the_next_request(client: TestClient) -> None:
    response = log_in(client)

    assert response.status_code == 303
    assert is_logged_in(client)


def test_logout_ends_the_login(client: TestClient) -> None:
    log_in(client)

    log_out(client)

    assert not is_logged_in(client)


# -- tampering and expiry --


def test_a_tampered_signature_gives_an_empty_session(client: TestClient) -> None:
    log_in(client)
    value = session_cookie(client)
    client.cookies.clear()
    client.cookies.set("session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))

    assert not is_logged_in(client)


def test_tampered_data_with_the_old_signature_gives_an_empty_session(client: TestClient) -> None:
    log_in(client)
    _, _, signature = session_cookie(client).rpartition(".")
    forged = base64.urlsafe_b64encode(b'{"i":"x","e":9999999999,"d":{"_user_id":"1"}}')
    client.cookies.clear()
    client.cookies.set("session", forged.decode().rstrip("=") + "." + signature)

    assert not is_logged_in(client)


def test_a_forged_unsigned_session_id_is_refused(client: TestClient) -> None:
    client.cookies.set("session", "1")

    assert not is_logged_in(client)
    assert client.get("/").status_code == 200


def test_an_expired_session_is_empty(app: App, client: TestClient) -> None:
    log_in(client)
    backend = app.sessions.backend
    record = backend.load(session_cookie(client))
    assert record is not None
    session_id, data, _ = record
    expired = backend.save(session_id, data, time.time() - 5)
    client.cookies.clear()
    client.cookies.set("session", expired)

    assert not is_logged_in(client)


# -- replay after logout, fixation --


@server_side
def test_a_cookie_replayed_after_logout_is_not_logged_in(
    app: App, client: TestClient, make_client: MakeClient
) -> None:
    log_in(client)
    stolen = session_cookie(client)
    log_out(client)
    attacker = make_client(app)
    attacker.cookies.set("session", stolen)

    assert not is_logged_in(attacker)


def test_logout_replaces_the_cookie_in_the_browser(client: TestClient) -> None:
    log_in(client)
    before = session_cookie(client)

    response = log_out(client)

    assert "session=" in response.headers["set-cookie"]
    assert client.cookies.get("session") != before


def test_the_session_id_changes_at_login(app: App, client: TestClient) -> None:
    csrf_token(client)  # an anonymous session exists before login
    before = app.sessions.backend.load(session_cookie(client))
    assert before is not None

    log_in(client)

    after = app.sessions.backend.load(session_cookie(client))
    assert after is not None
    assert after[0] != before[0]


def test_a_planted_pre_login_cookie_is_not_logged_in_after_the_victim_logs_in(
    app: App, client: TestClient, make_client: MakeClient
) -> None:
    attacker = make_client(app)
    csrf_token(attacker)
    planted = session_cookie(attacker)
    client.cookies.set("session", planted, domain="testserver.local")

    log_in(client)

    attacker.cookies.set("session", planted)
    assert is_logged_in(client)
    assert not is_logged_in(attacker)


@server_side
def test_the_pre_login_session_is_deleted_from_the_store_at_login(
    app: App, client: TestClient
) -> None:
    csrf_token(client)
    planted = session_cookie(client)

    log_in(client)

    assert app.sessions.backend.load(planted) is None


@server_side
def test_the_store_never_holds_the_raw_session_id(
    app: App, client: TestClient, backend_name: str, request: pytest.FixtureRequest
) -> None:
    log_in(client)
    record = app.sessions.backend.load(session_cookie(client))
    assert record is not None
    session_id = record[0]
    if backend_name == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        keys = [k.decode() for k in request.getfixturevalue("redis_client").keys(prefix + "*")]
    else:
        import sqlalchemy as sa

        backend: Any = app.sessions.backend
        with backend.engine.connect() as connection:
            keys = list(connection.execute(sa.text("SELECT id FROM trellis_sessions")).scalars())
    assert keys
    assert not any(session_id in key for key in keys)


# -- cookie flags --


def test_the_session_cookie_is_httponly_and_samesite_lax(client: TestClient) -> None:
    response = log_in(client)

    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back


def test_the_session_cookie_is_secure_under_https(app: App, make_client: MakeClient) -> None:
    client = make_client(app, base_url="https://testserver")

    response = client.post(
        "/login",
        data=CREDENTIALS,
        headers={"X-CSRF-Token": csrf_token(client), "Referer": "https://testserver/login"},
    )

    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_remember_me_makes_the_cookie_outlive_the_browser(client: TestClient) -> None:
    response = log_in(client, remember="on")

    assert f"Max-Age={30 * 24 * 3600}" in response.headers["set-cookie"]


def test_without_remember_me_the_cookie_ends_with_the_browser(client: TestClient) -> None:
    response = log_in(client)

    assert "Max-Age" not in response.headers["set-cookie"]
