"""The documented test-fixture pattern: create the tables once, run each test inside
`db.isolated()`, whose transaction is rolled back afterwards, so every test starts empty."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from trellis import App
from trellis.db import Database, Session, select
from trellis.testing import TestClient

from .models import User


@pytest.fixture
def isolated_db(app_db: tuple[App, Database]) -> Iterator[Database]:
    db = app_db[1]
    with db.isolated():
        yield db


@pytest.fixture
def app(app_db: tuple[App, Database]) -> App:
    app = app_db[0]

    @app.post("/users/{name}")
    def create(name: str, session: Session) -> dict[str, int]:
        session.add(User(email=f"{name}@example.com", name=name))
        return {"users": len(session.scalars(select(User)).all())}

    @app.post("/fail/{name}")
    def fail(name: str, session: Session) -> None:
        session.add(User(email=f"{name}@example.com", name=name))
        session.flush()
        raise RuntimeError("boom")

    return app


def count(db: Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(User)).all())


def test_commits_inside_the_block_are_seen_inside_it(
    isolated_db: Database, client: TestClient
) -> None:
    assert client.post("/users/a").json() == {"users": 1}
    assert client.post("/users/b").json() == {"users": 2}
    assert count(isolated_db) == 2


def test_a_failed_request_rolls_back_only_its_own_savepoint(
    isolated_db: Database, client: TestClient
) -> None:
    assert client.post("/users/a").json() == {"users": 1}
    assert client.post("/fail/b").status_code == 500
    assert count(isolated_db) == 1


def test_everything_is_gone_after_the_block(
    app: App, app_db: tuple[App, Database], make_client: Callable[..., TestClient]
) -> None:
    db = app_db[1]
    client = make_client(app)
    with db.isolated():
        client.post("/users/a")
        assert count(db) == 1
    assert count(db) == 0
