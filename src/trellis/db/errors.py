"""Database errors as HTTP answers: a violated constraint is a 409 naming it, an unreachable
or overloaded database a 503 (logged), a value that does not fit its column a 400.

The request's transaction has already been rolled back when these run, so nothing of a failed
request is written.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, UniqueConstraint
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..errorpages import http_error_response, problem_response, wants_html
from ..errors import HTTPError
from ..responses import Response

if TYPE_CHECKING:
    from ..requests import Request

logger = logging.getLogger("trellis.db")

UNAVAILABLE_DETAIL = "The database is unavailable right now; try again in a moment."
RETRY_AFTER_SECONDS = "2"

# SQLite reports these as OperationalError like "no such table"; only they mean "try later".
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: (\S+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
_STATEMENT_TABLE = re.compile(
    r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+["`\[]?(\w+)', re.IGNORECASE
)


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot serve now (down, dropped, busy, timed out)."""
    if isinstance(exc, PoolTimeoutError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, OperationalError | InterfaceError):
            module = type(exc.orig).__module__ or ""
            if module.startswith("sqlite3") or "aiosqlite" in module:
                message = str(exc.orig).lower()
                return any(text in message for text in _SQLITE_UNAVAILABLE)
            return True
    return False


class ConflictError(HTTPError):
    """409: the request violated a database constraint; `constraint` names it when known."""

    def __init__(self, constraint: str | None) -> None:
        self.constraint = constraint
        detail = (
            f"The request conflicts with the data already stored: constraint {constraint} "
            "was violated."
            if constraint
            else "The request conflicts with the data already stored (a constraint was violated)."
        )
        super().__init__(409, detail)


def translate(exc: BaseException, metadata: MetaData | None, where: str) -> HTTPError | None:
    """The HTTPError that explains a database error to the client, or None for a plain 500.

    `where` ("GET /posts") goes into the log line written for an unavailable database.
    """
    if isinstance(exc, IntegrityError):
        name = constraint_name(exc, metadata)
        logger.info("Integrity error in %s: constraint %s", where, name)
        return ConflictError(name)
    if is_unavailable(exc):
        orig = getattr(exc, "orig", None) or exc
        lines = str(orig).strip().splitlines()
        logger.error(
            "Database unavailable during %s: %s: %s",
            where,
            type(orig).__name__,
            lines[0] if lines else "",
        )
        return HTTPError(503, UNAVAILABLE_DETAIL, {"retry-after": RETRY_AFTER_SECONDS})
    if isinstance(exc, DataError):
        return HTTPError(
            400,
            "A value in the request does not fit the database: wrong type, too long, or out "
            "of range.",
        )
    return None


def conflict_response(request: Request, exc: ConflictError) -> Response:
    """A 409 page, with the constraint in the problem's `constraint` member for programs."""
    if wants_html(request):
        return http_error_response(request, exc)
    return problem_response(409, exc.title, exc.detail, extra={"constraint": exc.constraint})


def constraint_name(exc: IntegrityError, metadata: MetaData | None) -> str | None:
    """The name of the constraint `exc` violated, as precisely as the database reports it."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        name = getattr(diag, "constraint_name", None)
        if name:
            return str(name)
        column, table = getattr(diag, "column_name", None), getattr(diag, "table_name", None)
        if column and table:
            return f"{table}.{column} NOT NULL"
        return None
    message = str(orig)
    if match := _SQLITE_CHECK.search(message):
        return match.group(1)
    if match := _SQLITE_NOT_NULL.search(message):
        return f"{match.group(1)} NOT NULL"
    if match := _SQLITE_UNIQUE.search(message):
        return _sqlite_unique_name(match.group(1), metadata)
    if "FOREIGN KEY" in message:
        return _sqlite_foreign_key_name(exc.statement or "", metadata)
    return None


def _sqlite_unique_name(columns_text: str, metadata: MetaData | None) -> str:
    # "users.email, users.name": find the unique constraint or index on exactly those columns.
    pairs = [part.strip().rpartition(".") for part in columns_text.split(",")]
    table_name = pairs[0][0]
    columns = {column for _, _, column in pairs}
    table = metadata.tables.get(table_name) if metadata is not None else None
    if table is not None:
        if table.primary_key is not None and {c.name for c in table.primary_key} == columns:
            return str(table.primary_key.name or f"pk_{table_name}")
        for constraint in table.constraints:
            if (
                isinstance(constraint, UniqueConstraint)
                and {c.name for c in constraint.columns} == columns
            ):
                return str(constraint.name)
        for index in table.indexes:
            if index.unique and {c.name for c in index.columns} == columns:
                return str(index.name)
    return f"unique({columns_text})"


def _sqlite_foreign_key_name(statement: str, metadata: MetaData | None) -> str | None:
    # SQLite does not say which foreign key failed; name it when the statement's table has
    # only one candidate.
    match = _STATEMENT_TABLE.match(statement)
    if match is None or metadata is None:
        return None
    verb, table_name = match.group(1).upper(), match.group(2)
    if verb.startswith("DELETE"):
        names = [
            str(fk.name)
            for table in metadata.tables.values()
            for fk in table.foreign_key_constraints
            if fk.referred_table.name == table_name
        ]
    else:
        table = metadata.tables.get(table_name)
        names = [str(fk.name) for fk in table.foreign_key_constraints] if table is not None else []
    return " or ".join(sorted(names)) or None
