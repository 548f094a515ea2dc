"""Migrations through `trellis db ...`: a round trip on SQLite and PostgreSQL, checked with
SQLAlchemy's inspector at every step; and the other db commands and `trellis shell`."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect, text

from trellis.cli import main

APP_V1 = """
from trellis import App
from trellis.db import Database, ForeignKey, Mapped, String, mapped_column, new_metadata
from sqlalchemy.orm import DeclarativeBase

app = App(settings={{"DATABASE_URL": {url!r}, "DEBUG": {debug}}})


class Base(DeclarativeBase):
    metadata = new_metadata()


db = Database(app, model=Base)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
"""

# The second version adds a column to users and, to posts, a column with a foreign key.
APP_V2 = APP_V1.replace(
    "    email: Mapped[str] = mapped_column(String(200), unique=True)\n",
    "    email: Mapped[str] = mapped_column(String(200), unique=True)\n"
    "    bio: Mapped[str | None] = mapped_column(String(500))\n",
).replace(
    "    title: Mapped[str] = mapped_column(String(200))\n",
    "    title: Mapped[str] = mapped_column(String(200))\n"
    '    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))\n',
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    forget_app_module(tmp_path)


def forget_app_module(directory: Path) -> None:
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if filename and Path(filename).is_relative_to(directory):
            del sys.modules[name]
    importlib.invalidate_caches()


def write_app(project: Path, source: str, url: str, debug: bool = False) -> None:
    forget_app_module(project)
    (project / "app.py").write_text(textwrap.dedent(source.format(url=url, debug=debug)))


def trellis(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def ok(*args: str) -> str:
    result = trellis(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def empty_database_url(database_url: str) -> Iterator[str]:
    """The backend's database, left without the tables these tests create."""
    yield database_url
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for table in ("posts", "users", "alembic_version"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def schema(url: str) -> tuple[set[str], set[str], set[str], list[str | None]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        users = {c["name"] for c in inspector.get_columns("users")} if "users" in tables else set()
        posts = {c["name"] for c in inspector.get_columns("posts")} if "posts" in tables else set()
        fks = [fk["name"] for fk in inspector.get_foreign_keys("posts")] if posts else []
        return tables, users, posts, fks
    finally:
        engine.dispose()


def test_migration_round_trip(project: Path, empty_database_url: str) -> None:
    url = empty_database_url
    write_app(project, APP_V1, url)
    assert "Created" in ok("db", "init")
    assert (project / "migrations" / "env.py").is_file()

    first = ok("db", "revision", "-m", "users and posts", "--autogenerate")
    assert "Wrote" in first
    ok("db", "upgrade")
    assert schema(url) == ({"users", "posts"}, {"id", "email"}, {"id", "title"}, [])

    write_app(project, APP_V2, url)
    second = ok("db", "revision", "-m", "bio and authors", "--autogenerate")
    script = Path(second.split("Wrote ", 1)[1].strip()).read_text()
    assert "add_column" in script and "create_foreign_key" in script
    ok("db", "upgrade", "head")
    assert schema(url) == (
        {"users", "posts"},
        {"id", "email", "bio"},
        {"id", "title", "author_id"},
        ["fk_posts_author_id_users"],
    )

    history = ok("db", "history")
    assert "users and posts" in history and "bio and authors" in history
    assert "(head)" in ok("db", "current")

    ok("db", "downgrade", "-1")
    assert schema(url) == ({"users", "posts"}, {"id", "email"}, {"id", "title"}, [])
    ok("db", "downgrade", "base")
    assert schema(url) == (set(), set(), set(), [])


def test_data_survives_a_migration_on_sqlite_batch_mode(project: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    write_app(project, APP_V1, url)
    ok("db", "init")
    ok("db", "revision", "-m", "first", "--autogenerate")
    ok("db", "upgrade")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id, email) VALUES (1, 'a@example.com')"))
        connection.execute(text("INSERT INTO posts (id, title) VALUES (7, 'kept')"))
    write_app(project, APP_V2, url)
    ok("db", "revision", "-m", "second", "--autogenerate")
    ok("db", "upgrade")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, title, author_id FROM posts")).all() == [
            (7, "kept", None)
        ]
    engine.dispose()


def test_revision_before_init_says_to_run_init(project: Path, tmp_path: Path) -> None:
    write_app(project, APP_V1, f"sqlite:///{tmp_path / 'x.db'}")
    result = trellis("db", "revision", "-m", "x")
    assert result.exit_code == 1
    assert "trellis db init" in result.output


def test_init_refuses_to_overwrite(project: Path, tmp_path: Path) -> None:
    write_app(project, APP_V1, f"sqlite:///{tmp_path / 'x.db'}")
    ok("db", "init")
    result = trellis("db", "init")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_db_commands_on_an_app_without_database_explain(project: Path) -> None:
    forget_app_module(project)
    (project / "plain.py").write_text("from trellis import App\napp = App()\n")
    result = trellis("db", "--app", "plain.py", "current")
    assert result.exit_code == 2
    assert "Database(app)" in result.output


def test_create_all_only_in_debug(project: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'proto.db'}"
    write_app(project, APP_V1, url)
    refused = trellis("db", "create-all")
    assert refused.exit_code == 1
    assert "debug" in refused.output
    write_app(project, APP_V1, url, debug=True)
    ok("db", "create-all")
    assert columns(url, "posts") == {"id", "title"}


def test_unreachable_database_is_one_clear_line(project: Path) -> None:
    write_app(project, APP_V1, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    ok("db", "init")
    result = trellis("db", "upgrade")
    assert result.exit_code == 1
    assert result.output.startswith("Error: Database error:")
    assert "Traceback" not in result.output


def test_shell_loads_app_db_session_and_models(project: Path, tmp_path: Path) -> None:
    write_app(project, APP_V1, f"sqlite:///{tmp_path / 'shell.db'}", debug=True)
    ok("db", "create-all")
    result = CliRunner().invoke(
        main,
        ["shell"],
        input="session.add(User(email='s@example.com'))\nsession.commit()\n"
        "print(session.scalars(select(User)).one().email, app is db.app, Post.__tablename__)\n",
    )
    assert result.exit_code == 0, result.output
    assert "Loaded: Post, User, app, db, select, session" in result.output
    assert "s@example.com True posts" in result.output


def test_shell_without_a_database_loads_the_app(project: Path) -> None:
    forget_app_module(project)
    (project / "app.py").write_text("from trellis import App\napp = App()\n")
    result = CliRunner().invoke(main, ["shell"], input="print(type(app).__name__)\n")
    assert result.exit_code == 0, result.output
    assert "Loaded: app." in result.output
    assert "App" in result.output
