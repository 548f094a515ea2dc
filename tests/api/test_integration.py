"""API keys and resources with the rest of Trellis: the app's Database, CSRF, shared rate limits."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trellis import App
from trellis.auth.apikeys import APIKey, APIKeys, requires_scope
from trellis.db import Database
from trellis.errors import ConfigurationError
from trellis.resources import Resource
from trellis.security.ratelimit import RedisRateLimitStorage
from trellis.testing import TestClient

REDIS_URL = "redis://127.0.0.1:6379/0"


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(200))


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[tuple[App, Database]]:
    app = App(settings={"DATABASE_URL": database_url})
    db = Database(app, model=Base, root_path=tmp_path)
    yield app, db
    db.drop_all()
    db.engine.dispose()


def test_keys_live_in_the_apps_database_and_its_metadata(
    database: tuple[App, Database], make_client: Callable[..., TestClient]
) -> None:
    app, db = database
    keys = APIKeys(app)

    @app.get("/whoami")
    def whoami(key: APIKey) -> dict[str, str]:
        return {"name": key.name}

    # The table belongs to the Database's metadata: create_all and migrations include it.
    assert keys.store.table.metadata is db.metadata
    db.create_all()
    assert "trellis_api_keys" in sa.inspect(db.engine).get_table_names()
    _, plain = keys.create("ci", ["notes:read"])

    response = make_client(app).get("/whoami", headers={"authorization": f"Bearer {plain}"})

    assert response.json() == {"name": "ci"}


def test_a_resource_uses_the_apps_database(
    database: tuple[App, Database], make_client: Callable[..., TestClient]
) -> None:
    app, db = database
    Resource(app, Note)
    db.create_all()
    client = make_client(app)

    created = client.post("/notes", json={"text": "hello"})

    assert created.status_code == 201
    with db.session() as session:
        assert session.scalar(sa.select(Note.text)) == "hello"


def test_a_resource_without_a_database_says_what_to_add() -> None:
    with pytest.raises(ConfigurationError, match=r"Database\(app\)"):
        Resource(App(settings={}), Note)


@pytest.fixture
def csrf_app(tmp_path: Path) -> Iterator[App]:
    app = App(settings={"SECRET_KEY": "k" * 32})
    keys = APIKeys(app, database_url=f"sqlite:///{tmp_path / 'keys.db'}")
    keys.store.create_table()

    @app.post("/scoped")
    @requires_scope("notes:write")
    def scoped() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/any-key")
    def any_key(key: APIKey) -> dict[str, bool]:
        return {"ok": True}

    @app.post("/cookie-form")
    def cookie_form() -> dict[str, bool]:
        return {"ok": True}

    yield app
    keys.store.engine.dispose()


@pytest.mark.parametrize("path", ["/scoped", "/any-key"])
def test_key_authenticated_routes_need_no_csrf_token_even_with_a_session_cookie(
    csrf_app: App, make_client: Callable[..., TestClient], path: str
) -> None:
    keys = APIKeys.of(csrf_app)
    _, plain = keys.create("ci", ["notes:write"])
    client = make_client(csrf_app)
    client.cookies.set("session", "anything")

    response = client.post(path, json={}, headers={"x-api-key": plain})

    assert response.status_code == 200
    # Without the key it is still refused: the exemption is not a way in.
    assert client.post(path, json={}).status_code == 401


def test_cookie_routes_beside_them_keep_their_csrf_check(
    csrf_app: App, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(csrf_app)
    client.cookies.set("session", "anything")

    response = client.post("/cookie-form", json={})

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis is not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason} (CI=true: these tests must run)", pytrace=False)
        pytest.skip(reason)
    prefix = f"trellis-test-{secrets.token_hex(6)}:"
    yield prefix
    found = list(client.scan_iter(match=prefix + "*"))
    if found:
        client.delete(*found)
    client.close()


def test_per_key_limits_are_shared_between_processes_through_redis(
    tmp_path: Path, redis_prefix: str, make_client: Callable[..., TestClient]
) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"

    def process() -> tuple[App, APIKeys]:
        # Two apps on one database and one Redis: two worker processes of one service.
        app = App(settings={})
        keys = APIKeys(
            app, database_url=url, limit_storage=RedisRateLimitStorage(REDIS_URL, redis_prefix)
        )

        @app.get("/x")
        @requires_scope("s")
        def x() -> dict[str, Any]:
            return {}

        return app, keys

    (first, keys), (second, _) = process(), process()
    keys.store.create_table()
    _, plain = keys.create("shared", ["s"], rate_limit="4/minute")
    one, two = make_client(first), make_client(second)

    statuses = [c.get("/x", headers={"x-api-key": plain}).status_code for c in (one, two) * 3]

    assert statuses == [200, 200, 200, 200, 429, 429]
