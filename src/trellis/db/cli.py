"""`trellis db ...` (migrations) and `trellis shell`.

This module imports only click at load time, so `trellis run` does not pay for SQLAlchemy and
Alembic; the commands import them when they run.
"""

from __future__ import annotations

import code
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .database import Database

APP_OPTION_HELP = (
    "The application, as for 'trellis run' (module:attr, module or path.py). "
    "Default: TRELLIS_APP, then app.py or wsgi.py in the current directory."
)


def _database(app_ref: str | None) -> Database:
    from ..cli import locate_app
    from ..errors import ConfigurationError
    from .database import Database

    app, import_string = locate_app(app_ref)
    try:
        return Database.of(app)
    except ConfigurationError:
        raise click.UsageError(
            f"'{import_string}' has no database. Create one in it with `db = Database(app)`."
        ) from None


def _run(action: Any) -> None:
    """Run a migration step; configuration and database errors become one clear line."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from ..errors import ConfigurationError

    try:
        action()
    except (ConfigurationError, CommandError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise click.ClickException(f"Database error: {reason[0] if reason else exc}") from None


@click.group("db")
@click.option("-a", "--app", "app_ref", help=APP_OPTION_HELP)
@click.pass_context
def db_group(ctx: click.Context, app_ref: str | None) -> None:
    """Manage the application's database: migrations and tables."""
    ctx.obj = app_ref


@db_group.command("init")
@click.pass_obj
def init_command(app_ref: str | None) -> None:
    """Create the migrations folder next to the app (once per project)."""
    from . import migrations

    db = _database(app_ref)
    _run(lambda: click.echo(f"Created {migrations.init(db)}. Next: trellis db revision -m ..."))


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option(
    "--autogenerate", is_flag=True, help="Write the operations by comparing models and database."
)
@click.pass_obj
def revision_command(app_ref: str | None, message: str, autogenerate: bool) -> None:
    """Write a new migration script (review it before running it)."""
    from . import migrations

    db = _database(app_ref)

    def write() -> None:
        for path in migrations.revision(db, message, autogenerate=autogenerate):
            click.echo(f"Wrote {path}")

    _run(write)


@db_group.command("upgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision", default="head")
@click.pass_obj
def upgrade_command(app_ref: str | None, revision: str) -> None:
    """Migrate the database up to REVISION (default: the latest, 'head')."""
    from . import migrations

    db = _database(app_ref)
    _run(lambda: migrations.upgrade(db, revision))
    click.echo(f"Database {db.url} is at {revision}.")


# ignore_unknown_options lets "-1" be a revision rather than an option.
@db_group.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@click.pass_obj
def downgrade_command(app_ref: str | None, revision: str) -> None:
    """Migrate the database down to REVISION ('-1' for one step, 'base' for empty)."""
    from . import migrations

    db = _database(app_ref)
    _run(lambda: migrations.downgrade(db, revision))
    click.echo(f"Database {db.url} downgraded to {revision}.")


@db_group.command("current")
@click.pass_obj
def current_command(app_ref: str | None) -> None:
    """Show the revision the database is at."""
    from . import migrations

    db = _database(app_ref)
    _run(lambda: migrations.current(db))


@db_group.command("history")
@click.pass_obj
def history_command(app_ref: str | None) -> None:
    """List the migrations, newest first."""
    from . import migrations

    db = _database(app_ref)
    _run(lambda: migrations.history(db))


@db_group.command("create-all")
@click.pass_obj
def create_all_command(app_ref: str | None) -> None:
    """Create the models' missing tables directly, without migrations (debug mode only)."""
    db = _database(app_ref)
    assert db.app is not None
    if not db.app.settings.debug:
        raise click.ClickException(
            "create-all is for prototypes and refuses to run outside debug mode; use "
            "migrations (trellis db revision --autogenerate, then trellis db upgrade), or set "
            "TRELLIS_DEBUG=true."
        )
    _run(db.create_all)
    click.echo(
        f"Created the tables missing from {db.url} ({len(db.metadata.tables)} in the models)."
    )


def shell_namespace(app_ref: str | None) -> dict[str, Any]:
    """What `trellis shell` starts with: app, db, a session, select, and every model."""
    from ..cli import locate_app
    from ..errors import ConfigurationError

    app, _ = locate_app(app_ref)
    namespace: dict[str, Any] = {"app": app}
    try:
        from sqlalchemy import select

        from .database import Database

        db = Database.of(app)
    except ConfigurationError:
        return namespace
    namespace.update(db.models())
    namespace.update(db=db, session=db.sessionmaker(), select=select)
    return namespace


@click.command("shell")
@click.argument("app", required=False)
def shell_command(app: str | None) -> None:
    """Open a Python shell with the app, its db, a session and the models loaded.

    Changes made through `session` are written only when you call session.commit().
    """
    namespace = shell_namespace(app)
    names = ", ".join(sorted(namespace))
    banner = f"Trellis shell. Loaded: {names}."
    session = namespace.get("session")
    try:
        code.interact(banner=banner, local=namespace, exitmsg="")
    finally:
        if session is not None:
            session.close()
