"""Declarative models: the `Model` base class, constraint naming and the timestamps mixin.

`Model` is a SQLAlchemy 2 declarative base, so models use the standard typed style
(`Mapped[int]`, `mapped_column`, `relationship`). What Trellis adds is a naming convention for
constraints and indexes: every constraint has a predictable name, which lets migrations drop or
alter it (also on SQLite, in batch mode) and lets a 409 response name the constraint a request
violated.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, func, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# ix_posts_title, uq_users_email, ck_users_age_positive, fk_posts_author_id_users, pk_users.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A fresh MetaData with Trellis's constraint naming convention.

    Use it for a second, separate set of models (another database, or tests)::

        class ArchiveModel(DeclarativeBase):
            metadata = new_metadata()
    """
    return MetaData(naming_convention=NAMING_CONVENTION)


class ModelMixin:
    """Methods every Trellis model has."""

    def to_dict(self) -> dict[str, Any]:
        """The model's column values by attribute name (relationships are left out)."""
        mapper = inspect(type(self))
        return {attr.key: getattr(self, attr.key) for attr in mapper.column_attrs}

    def __repr__(self) -> str:
        mapper = inspect(type(self))
        names = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
        keys = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in names)
        return f"<{type(self).__name__} {keys}>"


class Model(ModelMixin, DeclarativeBase):
    """The default base class for an application's models.

    >>> class User(Model):
    ...     __tablename__ = "users"
    ...     id: Mapped[int] = mapped_column(primary_key=True)
    ...     email: Mapped[str] = mapped_column(String(200), unique=True)

    `Database` uses `Model.metadata` unless given another: `Database(app, metadata=...)`.
    """

    metadata = new_metadata()
    type_annotation_map = {datetime.datetime: DateTime(timezone=True)}


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Timestamps:
    """Adds `created_at` and `updated_at` (timezone-aware UTC), maintained automatically.

    >>> class Post(Timestamps, Model): ...

    Both are set in Python on insert, and `updated_at` again on every update, so they work the
    same on every database; `created_at` also has a server default for rows inserted in SQL.
    """

    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow, server_default=func.now()
    )
