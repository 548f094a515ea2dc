"""Models, relationships, constraints and engine defaults, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from trellis import App, ConfigurationError
from trellis.db import Database, Model, Session, select

from .models import Base, Post, Tag, User

MakeDb = Callable[..., tuple[App, Database]]


def test_create_all_builds_tables_keys_and_named_constraints(app_db: tuple[App, Database]) -> None:
    _, db = app_db
    inspector = inspect(db.engine)
    assert {"users", "posts", "tags", "post_tags"} <= set(inspector.get_table_names())
    assert inspector.get_pk_constraint("users")["constrained_columns"] == ["id"]
    assert inspector.get_pk_constraint("post_tags")["constrained_columns"] == ["post_id", "tag_id"]
    fks = inspector.get_foreign_keys("posts")
    assert [(fk["name"], fk["referred_table"]) for fk in fks] == [
        ("fk_posts_author_id_users", "users")
    ]
    uniques = {u["name"] for u in inspector.get_unique_constraints("posts")}
    assert "uq_posts_author_id_slug" in uniques
    assert "ix_users_name" in {i["name"] for i in inspector.get_indexes("users")}
    checks = {c["name"] for c in inspector.get_check_constraints("users")}
    assert "ck_users_age_not_negative" in checks


def test_relationships_one_to_many_and_many_to_many(app_db: tuple[App, Database]) -> None:
    _, db = app_db
    with db.session() as session:
        ada = User(email="ada@example.com", name="Ada")
        python, sql = Tag(name="python"), Tag(name="sql")
        ada.posts.append(Post(slug="one", title="One", tags=[python, sql]))
        ada.posts.append(Post(slug="two", title="Two", tags=[python]))
        session.add(ada)
    with db.session() as session:
        user = session.scalars(select(User)).one()
        assert sorted(p.slug for p in user.posts) == ["one", "two"]
        tag = session.scalars(select(Tag).where(Tag.name == "python")).one()
        assert sorted(p.slug for p in tag.posts) == ["one", "two"]
        assert user.posts[0].author is user


def test_timestamps_are_set_on_insert_and_update_moves_updated_at(
    app_db: tuple[App, Database],
) -> None:
    _, db = app_db
    with db.session() as session:
        user = User(email="a@example.com", name="A")
        session.add(user)
        session.flush()
        created, updated = user.created_at, user.updated_at
        assert created.tzinfo is not None
        assert abs(created - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=1)
        user.name = "B"
        session.flush()
        assert user.updated_at > updated
        assert user.created_at == created


def test_foreign_keys_are_enforced(app_db: tuple[App, Database]) -> None:
    _, db = app_db
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(Post(author_id=999, slug="x", title="x"))


def test_check_constraint_is_enforced(app_db: tuple[App, Database]) -> None:
    _, db = app_db
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(User(email="a@example.com", name="A", age=-1))


def test_to_dict_has_the_column_values(app_db: tuple[App, Database]) -> None:
    _, db = app_db
    with db.session() as session:
        user = User(email="a@example.com", name="A", age=3)
        session.add(user)
        session.flush()
        data = user.to_dict()
    assert {k: data[k] for k in ("id", "email", "name", "age")} == {
        "id": user.id,
        "email": "a@example.com",
        "name": "A",
        "age": 3,
    }
    assert repr(user) == f"<User id={user.id!r}>"


def test_session_block_rolls_back_when_it_raises(app_db: tuple[App, Database]) -> None:
    _, db = app_db
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(User(email="a@example.com", name="A"))
        session.flush()
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.scalars(select(User)).all() == []


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    app = App(settings={})
    db = Database(app, model=Model, root_path=tmp_path)
    assert db.config.url.database == str(tmp_path / "instance" / "app.db")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "instance" / "app.db").exists()
    db.engine.dispose()


def test_relative_sqlite_path_is_in_the_instance_folder(tmp_path: Path) -> None:
    db = Database(App(settings={"DATABASE_URL": "sqlite:///blog.db"}), root_path=tmp_path)
    assert db.config.url.database == str(tmp_path / "instance" / "blog.db")
    memory = Database(App(settings={"DATABASE_URL": "sqlite://"}), root_path=tmp_path)
    assert memory.config.is_memory


def test_instance_folder_defaults_next_to_the_module_creating_the_database() -> None:
    db = Database(App(settings={}))
    assert db.root_path == Path(__file__).resolve().parent
    assert db.instance_path == Path(__file__).resolve().parent / "instance"


def test_postgres_url_without_driver_uses_psycopg(tmp_path: Path) -> None:
    app = App(settings={"DATABASE_URL": "postgresql://u@db.example/app"})
    db = Database(app, model=Model, root_path=tmp_path)
    assert db.config.url.drivername == "postgresql+psycopg"


def test_statement_timeout_is_applied_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    settings = {"DATABASE_URL": postgres_url, "DATABASE_STATEMENT_TIMEOUT": "1234"}
    db = Database(App(settings=settings), root_path=tmp_path)
    with db.engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "1234ms"
    db.engine.dispose()


@pytest.mark.parametrize(
    ("name", "value"),
    [("DATABASE_POOL_SIZE", "many"), ("DATABASE_POOL_TIMEOUT", "-1"), ("DATABASE_URL", "nope")],
)
def test_bad_database_settings_are_configuration_errors(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Database(App(settings={name: value}), root_path=tmp_path)


def test_an_app_has_one_database(tmp_path: Path) -> None:
    app = App(settings={})
    Database(app, root_path=tmp_path)
    with pytest.raises(ConfigurationError, match="already has a Database"):
        Database(app, root_path=tmp_path)
    assert Database.of(app).app is app


def test_in_memory_sqlite_is_one_database_for_every_thread(
    make_client: Callable[..., Any], tmp_path: Path
) -> None:
    app = App(settings={"DATABASE_URL": "sqlite://"})
    db = Database(app, model=Base, root_path=tmp_path)
    db.create_all()

    @app.post("/users/{name}")
    def create(name: str, session: Session) -> dict[str, int]:
        session.add(User(email=f"{name}@example.com", name=name))
        return {"users": len(session.scalars(select(User)).all())}

    client = make_client(app)
    assert client.post("/users/a").json() == {"users": 1}
    assert client.post("/users/b").json() == {"users": 2}
    db.engine.dispose()
