"""Database fixtures: every database test runs on SQLite and on the real PostgreSQL.

PostgreSQL is shared with other test runs, so this run creates its own database
(`trellis_test_<random>`, through the `test` database) and drops it at the end. Set
TEST_POSTGRES_URL to use another server. Without CI the PostgreSQL half is skipped when the
server is unreachable; under CI=true it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trellis import App
from trellis.db import Database

from .models import Base

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database the test runs on."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A DATABASE_URL for an empty database on the current backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def make_db(database_url: str, tmp_path: Path) -> Iterator[Callable[..., tuple[App, Database]]]:
    """Build an app with a Database on the current backend, the test models' tables created;
    the tables are dropped and the pool closed after the test."""
    made: list[Database] = []

    def make(settings: dict[str, Any] | None = None, create: bool = True) -> tuple[App, Database]:
        app = App(settings={"DATABASE_URL": database_url, **(settings or {})})
        db = Database(app, model=Base, root_path=tmp_path)
        if create:
            db.drop_all()
            db.create_all()
        made.append(db)
        return app, db

    yield make
    for db in made:
        db.drop_all()
        db.engine.dispose()
        if db._async_engine is not None:
            from trellis.app import run_sync

            run_sync(db._async_engine.dispose())


@pytest.fixture
def app_db(make_db: Callable[..., tuple[App, Database]]) -> tuple[App, Database]:
    return make_db()
