"""Alembic glue behind `trellis db ...`: configuration built from the app, and the environment
that runs migrations against the app's own engine and models.

No alembic.ini: the migrations folder (`migrations/` next to the module that creates the
Database, or MIGRATIONS_PATH) holds `env.py`, `script.py.mako` and `versions/`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from .database import Database

TEMPLATE_DIR = Path(__file__).parent / "migration_template"
_DB_ATTRIBUTE = "trellis_db"


def alembic_config(db: Database, *, require_folder: bool = True) -> Config:
    """An Alembic Config for `db`: its migrations folder, and the Database itself for env.py."""
    folder = db.migrations_path
    if require_folder and not (folder / "env.py").is_file():
        raise ConfigurationError(
            f"No migrations folder at {folder}. Create it with `trellis db init`."
        )
    # sys.stdout now, not at import: Alembic's default is bound once when it is imported.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")
    config.attributes[_DB_ATTRIBUTE] = db
    return config


def init(db: Database) -> Path:
    """Create the migrations folder from Trellis's template; refuses to overwrite one."""
    folder = db.migrations_path
    if folder.exists() and any(folder.iterdir()):
        raise ConfigurationError(f"{folder} already exists and is not empty; nothing was changed.")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copyfile(TEMPLATE_DIR / name, folder / name)
    (folder / "versions").mkdir()
    return folder


def revision(db: Database, message: str, *, autogenerate: bool = False) -> list[str]:
    """Write a new revision (compared with the models when `autogenerate`); returns its paths."""
    scripts = command.revision(alembic_config(db), message=message, autogenerate=autogenerate)
    items = scripts if isinstance(scripts, list) else [scripts]
    return [str(script.path) for script in items if script is not None]


def upgrade(db: Database, target: str = "head") -> None:
    command.upgrade(alembic_config(db), target)


def downgrade(db: Database, target: str) -> None:
    command.downgrade(alembic_config(db), target)


def current(db: Database) -> None:
    command.current(alembic_config(db), verbose=False)


def history(db: Database) -> None:
    command.history(alembic_config(db), verbose=False)


def run_migrations() -> None:
    """The body of the migrations folder's env.py: migrate the app's database."""
    from alembic import context

    config = context.config
    db: Database | None = config.attributes.get(_DB_ATTRIBUTE)
    if db is None:
        db = _database_from_app()
    options: dict[str, Any] = {
        "target_metadata": db.metadata,
        "compare_type": True,
        # SQLite cannot ALTER constraints; batch mode copies the table instead.
        "render_as_batch": db.config.is_sqlite,
    }
    if context.is_offline_mode():
        context.configure(url=db.config.url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    with db.engine.connect() as connection:
        if db.config.is_sqlite:
            # Batch mode drops and recreates tables, which enforced foreign keys would block
            # or cascade; the pragma only takes effect outside a transaction.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            # Trellis's SQLite engine has real transactions, so DDL can be all-or-nothing.
            options["transactional_ddl"] = True
        try:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if db.config.is_sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _database_from_app() -> Database:
    from ..cli import locate_app
    from .database import Database

    app, _ = locate_app(None)
    return Database.of(app)
