"""A small blog: users, posts and tags in a database, with migrations, HTML pages with a form,
and a JSON API.

    cd examples/blog
    trellis db upgrade            # creates instance/app.db from migrations/
    trellis run --reload          # http://127.0.0.1:8000/

Set TRELLIS_DATABASE_URL=postgresql+psycopg://user@host/blog to use PostgreSQL instead; the code
does not change. The HTML form and the JSON API validate input with the same pydantic model.
`GET /posts` and `GET /posts/{id}` serve browsers their template and programs JSON, YAML or XML.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic
from sqlalchemy.exc import IntegrityError

from trellis import App, RedirectResponse, Request, Template, render
from trellis.db import (
    CheckConstraint,
    Column,
    Database,
    FilterField,
    Filters,
    ForeignKey,
    Mapped,
    Model,
    Session,
    String,
    Table,
    Text,
    Timestamps,
    mapped_column,
    relationship,
    select,
    selectinload,
)

# -- models: users write posts; posts have tags (many-to-many) --

post_tags = Table(
    "post_tags",
    Model.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class User(Timestamps, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    posts: Mapped[list[Post]] = relationship(back_populates="author")


class Post(Timestamps, Model):
    __tablename__ = "posts"
    __table_args__ = (CheckConstraint("length(title) > 0", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    author: Mapped[User] = relationship(back_populates="posts")
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, back_populates="posts", order_by="Tag.name"
    )


class Tag(Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    posts: Mapped[list[Post]] = relationship(secondary=post_tags, back_populates="tags")


# -- forms and API shapes --


class NewUser(pydantic.BaseModel):
    email: str = pydantic.Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=200)
    name: str = pydantic.Field(min_length=1, max_length=100)


class NewPost(pydantic.BaseModel):
    title: str = pydantic.Field(min_length=1, max_length=200)
    body: str = pydantic.Field(default="", max_length=100_000)
    author_id: int
    tags: list[str] = pydantic.Field(default_factory=list, max_length=20)
    published: bool = False

    @pydantic.field_validator("tags", mode="before")
    @classmethod
    def split_commas(cls, value: Any) -> Any:
        # A form's text input sends "python, sql"; JSON may send a list. Both become names.
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [part.strip() for item in value for part in str(item).split(",")]
        return value

    @pydantic.field_validator("tags")
    @classmethod
    def check_tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if len(tag) > 50:
                raise ValueError("a tag has at most 50 characters")
        return tags


class PostOut(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str
    published: bool
    author_id: int


post_listing = Filters(
    fields={
        "author": Post.author_id,
        "published": Post.published,
        "title": FilterField(Post.title, ["eq", "contains"]),
    },
    sort={"created": Post.created_at, "title": Post.title, "id": Post.id},
    default_sort="-created,-id",
)


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:180] or "post"


def post_detail(post: Post) -> dict[str, Any]:
    return {
        **PostOut.model_validate(post).model_dump(),
        "body": post.body,
        "author": {"id": post.author.id, "name": post.author.name},
        "tags": [tag.name for tag in post.tags],
        "created_at": post.created_at.isoformat(),
    }


def create_app(settings: dict[str, Any] | None = None) -> App:
    app = App(settings=settings)
    Database(app)

    @app.post("/users")
    def create_user(data: NewUser, session: Session) -> tuple[dict[str, Any], int]:
        user = User(email=data.email, name=data.name)
        session.add(user)
        session.flush()  # a duplicate email is a 409 naming uq_users_email
        return {"id": user.id, "email": user.email, "name": user.name}, 201

    # Programs get JSON (or YAML, XML, CSV); browsers get the route's template.
    @app.get("/posts", template="posts.html")
    def list_posts(request: Request, session: Session) -> dict[str, Any]:
        statement = post_listing.apply(select(Post), request)
        tag = request.query.get("tag")
        if tag:
            statement = statement.where(Post.tags.any(Tag.name == tag))
        return session.paginate(statement, request, per_page=10).to_dict(PostOut)

    @app.post("/posts")
    def create_post(data: NewPost, session: Session) -> tuple[dict[str, Any], int]:
        post = add_post(session, data)
        session.flush()  # a duplicate slug is a 409 naming uq_posts_slug
        return post_detail(post), 201

    @app.get("/posts/{id}", template="post.html")
    def show_post(id: int, session: Session) -> dict[str, Any]:
        statement = (
            select(Post)
            .where(Post.id == id)
            .options(selectinload(Post.tags), selectinload(Post.author))
        )
        return post_detail(session.first_or_404(statement, detail=f"Post {id} was not found."))

    @app.delete("/posts/{id}")
    def delete_post(id: int, session: Session) -> None:
        session.delete(session.get_or_404(Post, id))

    @app.get("/tags")
    def list_tags(session: Session) -> list[dict[str, Any]]:
        rows = session.execute(select(Tag.name, Tag.id).order_by(Tag.name)).all()
        return [{"id": row.id, "name": row.name} for row in rows]

    # -- HTML pages --

    @app.get("/")
    def index(request: Request, session: Session, tag: str | None = None) -> Template:
        statement = (
            select(Post)
            .where(Post.published)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .options(selectinload(Post.author), selectinload(Post.tags))
        )
        if tag:
            statement = statement.where(Post.tags.any(Tag.name == tag))
        page = session.paginate(statement, request, per_page=10)
        return render("index.html", page=page, tag=tag)

    @app.get("/write")
    def write_form(session: Session) -> Template:
        return render("write.html", errors={}, values={}, authors=authors(session))

    @app.post("/write")
    def write(request: Request, session: Session) -> Template | RedirectResponse:
        form = request.form()
        values = {key: form.get(key) or "" for key in ("title", "body", "author_id", "tags")}
        values["published"] = form.get("published") == "true"
        try:
            data = NewPost.model_validate(values)
        except pydantic.ValidationError as exc:
            errors = {str(e["loc"][0]): e["msg"] for e in exc.errors(include_url=False)}
            context = {"errors": errors, "values": values, "authors": authors(session)}
            return Template("write.html", context, status=422)
        post = add_post(session, data)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            errors = {"title": "A post with this title exists already; choose another."}
            context = {"errors": errors, "values": values, "authors": authors(session)}
            return Template("write.html", context, status=409)
        return RedirectResponse(f"/posts/{post.id}", 303)

    return app


def authors(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def add_post(session: Session, data: NewPost) -> Post:
    """A new post by an existing author (404 otherwise), reusing tags that already exist."""
    author = session.get_or_404(User, data.author_id, detail="No such author.")
    names = sorted({name.strip().lower() for name in data.tags if name.strip()})
    existing = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    post = Post(
        slug=slugify(data.title),
        title=data.title,
        body=data.body,
        author=author,
        tags=[existing.get(name) or Tag(name=name) for name in names],
        published=data.published,
    )
    session.add(post)
    return post


app = create_app()
