"""`trellis apikeys create|list|revoke|rotate`: manage an app's API keys from the shell.

The app is found like `trellis run` finds it (`--app`, TRELLIS_APP, or app.py here); its
`APIKeys` object says which database holds the keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from .apikeys import APIKeys
    from .scopes import APIKey

# The database layer is imported only when a command runs, so `trellis run` stays quick.
KEY_TAG = "trk"

_APP_OPTION = click.option(
    "--app",
    "app_ref",
    default=None,
    metavar="APP",
    help="The application (module:attr or path.py); default: TRELLIS_APP or ./app.py.",
)


def _authenticator(app_ref: str | None) -> APIKeys:
    from ..cli import locate_app
    from .apikeys import APIKeys

    application, _ = locate_app(app_ref)
    try:
        keys = APIKeys.of(application)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    keys.store.create_table()
    return keys


@click.group("apikeys")
def apikeys() -> None:
    """Create, list, revoke and rotate API keys (only their hashes are stored)."""


@apikeys.command()
@_APP_OPTION
@click.option("--name", required=True, help="What the key is for, e.g. 'ci'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="A scope the key grants, e.g. models:predict (repeat for several).",
)
@click.option("--owner", default=None, help="Who the key belongs to (free text).")
@click.option("--expires", default=None, help="Lifetime such as 30d, 12h or 2w (default: never).")
@click.option("--rate-limit", default=None, help="This key's limit, e.g. 100/minute.")
def create(
    app_ref: str | None,
    name: str,
    scopes: tuple[str, ...],
    owner: str | None,
    expires: str | None,
    rate_limit: str | None,
) -> None:
    """Create a key and print it once."""
    from .keystore import parse_duration

    try:
        expires_in = parse_duration(expires) if expires is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--expires") from None
    keys = _authenticator(app_ref)
    try:
        key, plain = keys.create(
            name, list(scopes), owner=owner, expires_in=expires_in, rate_limit=rate_limit
        )
    except (ValueError, ConfigurationError) as error:
        raise click.UsageError(str(error)) from None
    click.echo(plain)
    click.echo(
        f"Created key {key.id} ({KEY_TAG}_{key.prefix}) named {key.name!r} with scopes "
        f"{' '.join(sorted(key.scopes))}{_expiry_text(key)}. Store it now: it is not kept and "
        "cannot be shown again.",
        err=True,
    )


@apikeys.command("list")
@_APP_OPTION
def list_keys(app_ref: str | None) -> None:
    """List keys (prefix, name, scopes, dates, status); never the keys themselves."""
    from ..cli import format_table

    keys = _authenticator(app_ref).all()
    if not keys:
        click.echo("No API keys yet. Create one with: trellis apikeys create --name NAME --scope S")
        return
    now = datetime.now(UTC)
    rows = [
        (
            str(key.id),
            f"{KEY_TAG}_{key.prefix}",
            key.name,
            key.owner or "-",
            " ".join(sorted(key.scopes)),
            _date(key.created_at),
            _date(key.expires_at),
            _date(key.last_used_at),
            _status(key, now),
        )
        for key in keys
    ]
    click.echo(format_table(_LIST_HEADER, rows))


@apikeys.command()
@_APP_OPTION
@click.argument("key")
def revoke(app_ref: str | None, key: str) -> None:
    """Revoke KEY (its id or prefix); requests with it get 401 from then on."""
    from .keystore import KeyNotFoundError

    try:
        revoked = _authenticator(app_ref).revoke(key)
    except KeyNotFoundError as error:
        raise click.ClickException(f"{error} See `trellis apikeys list`.") from None
    click.echo(f"Revoked key {revoked.id} ({KEY_TAG}_{revoked.prefix}) named {revoked.name!r}.")


@apikeys.command()
@_APP_OPTION
@click.argument("key")
def rotate(app_ref: str | None, key: str) -> None:
    """Give KEY (id or prefix) a new secret, print it once; the old key stops working."""
    from .keystore import KeyNotFoundError

    try:
        rotated, plain = _authenticator(app_ref).rotate(key)
    except KeyNotFoundError as error:
        raise click.ClickException(f"{error} See `trellis apikeys list`.") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(plain)
    click.echo(
        f"Rotated key {rotated.id} named {rotated.name!r}: its new prefix is "
        f"{KEY_TAG}_{rotated.prefix}. Store the new key now; the old one no longer works.",
        err=True,
    )


_LIST_HEADER = (
    "ID",
    "PREFIX",
    "NAME",
    "OWNER",
    "SCOPES",
    "CREATED",
    "EXPIRES",
    "LAST USED",
    "STATUS",
)


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _expiry_text(key: APIKey) -> str:
    return f", expiring {_date(key.expires_at)} UTC" if key.expires_at else ""


def _status(key: APIKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and now >= key.expires_at:
        return "expired"
    return "active"
