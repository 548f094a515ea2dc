"""Databases for Trellis apps: SQLAlchemy 2 models, request-scoped sessions, Alembic migrations.

    from trellis import App
    from trellis.db import Database, Model, Mapped, mapped_column, Session

    app = App()
    db = Database(app)          # DATABASE_URL, default sqlite:///instance/app.db

    class Note(Model):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        text: Mapped[str]

    @app.get("/notes/{id}")
    def show(id: int, session: Session) -> dict:
        return session.get_or_404(Note, id).to_dict()

The SQLAlchemy names a model module needs are re-exported here, so one import serves.
"""

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from .database import Database
from .engine import DatabaseConfig
from .errors import ConflictError
from .models import NAMING_CONVENTION, Model, ModelMixin, Timestamps, new_metadata
from .pagination import FilterField, Filters, Page
from .sessions import AsyncSession, Session

__all__ = [
    "NAMING_CONVENTION",
    "AsyncSession",
    "CheckConstraint",
    "Column",
    "ConflictError",
    "Database",
    "DatabaseConfig",
    "FilterField",
    "Filters",
    "ForeignKey",
    "Index",
    "Mapped",
    "Model",
    "ModelMixin",
    "Page",
    "Session",
    "String",
    "Table",
    "Text",
    "Timestamps",
    "UniqueConstraint",
    "delete",
    "func",
    "insert",
    "mapped_column",
    "new_metadata",
    "relationship",
    "select",
    "selectinload",
    "update",
]
