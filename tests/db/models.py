"""Models the database tests use: users, posts, tags (many-to-many) with every constraint kind."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from trellis.db import (
    CheckConstraint,
    Column,
    ForeignKey,
    Mapped,
    ModelMixin,
    String,
    Table,
    Timestamps,
    UniqueConstraint,
    mapped_column,
    new_metadata,
    relationship,
)


class Base(ModelMixin, DeclarativeBase):
    """A separate base, so the tests' tables never mix with an application's."""

    metadata = new_metadata()


post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class User(Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("age >= 0", name="age_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    age: Mapped[int] = mapped_column(default=0)
    posts: Mapped[list[Post]] = relationship(back_populates="author", cascade="all, delete")


class Post(Timestamps, Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("author_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    views: Mapped[int] = mapped_column(default=0)
    author: Mapped[User] = relationship(back_populates="posts")
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags, back_populates="posts")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    posts: Mapped[list[Post]] = relationship(secondary=post_tags, back_populates="tags")
