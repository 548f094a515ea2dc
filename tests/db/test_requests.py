"""The request's session: injection, commit/rollback, error answers, lookups, pagination,
filters; under WSGI and ASGI, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest
import sqlalchemy.orm

from trellis import App, HTTPError, Request, Response, Template
from trellis.db import AsyncSession, Database, FilterField, Filters, Session, select
from trellis.testing import TestClient

from .models import Post, Tag, User

MakeClient = Callable[..., TestClient]


class NewUser(pydantic.BaseModel):
    email: str
    name: str
    age: int = 0


@pytest.fixture
def db(app_db: tuple[App, Database]) -> Database:
    return app_db[1]


@pytest.fixture
def app(app_db: tuple[App, Database]) -> App:  # the conftest `client` serves this app
    return app_db[0]


def count_users(db: Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(User)).all())


def add_users(db: Database, *names: str) -> list[int]:
    with db.session() as session:
        users = [User(email=f"{n}@example.com", name=n) for n in names]
        session.add_all(users)
        session.flush()
        return [u.id for u in users]


# -- injection and transactions --


def test_sync_handler_gets_a_session_and_its_writes_are_committed(
    app: App, db: Database, client: TestClient
) -> None:
    @app.post("/users")
    def create(data: NewUser, session: Session) -> dict[str, Any]:
        user = User(**data.model_dump())
        session.add(user)
        session.flush()
        return {"id": user.id}

    response = client.post("/users", json={"email": "a@example.com", "name": "A"})
    assert response.status_code == 200
    with db.session() as session:
        assert session.get(User, response.json()["id"]) is not None


def test_handler_that_writes_two_rows_then_fails_leaves_zero_rows(
    app: App, db: Database, client: TestClient
) -> None:
    @app.post("/two")
    def two(session: Session) -> None:
        session.add(User(email="a@example.com", name="A"))
        session.add(User(email="b@example.com", name="B"))
        session.flush()
        raise RuntimeError("failure after writing")

    assert client.post("/two").status_code == 500
    assert count_users(db) == 0


def test_http_error_raised_by_the_handler_rolls_back(
    app: App, db: Database, client: TestClient
) -> None:
    @app.post("/forbidden")
    def forbidden(session: Session) -> None:
        session.add(User(email="a@example.com", name="A"))
        session.flush()
        raise HTTPError(403, "no")

    assert client.post("/forbidden").status_code == 403
    assert count_users(db) == 0


def test_returned_server_error_response_rolls_back(
    app: App, db: Database, client: TestClient
) -> None:
    @app.post("/503")
    def unavailable(session: Session) -> tuple[str, int]:
        session.add(User(email="a@example.com", name="A"))
        return "try later", 503

    assert client.post("/503").status_code == 503
    assert count_users(db) == 0


def test_returned_server_error_template_rolls_back(
    app: App, db: Database, client: TestClient
) -> None:
    @app.post("/maintenance")
    def maintenance(session: Session) -> Template:
        session.add(User(email="a@example.com", name="A"))
        return Template("missing.html", status=503)

    client.post("/maintenance")
    assert count_users(db) == 0


def test_returned_client_error_response_still_commits(
    app: App, db: Database, client: TestClient
) -> None:
    # An audit row written while answering 401 is kept: only exceptions and 5xx roll back.
    @app.post("/login")
    def login(session: Session) -> Response:
        session.add(User(email="audit@example.com", name="failed login"))
        return Response(b"no", 401)

    assert client.post("/login").status_code == 401
    assert count_users(db) == 1


def test_two_session_parameters_get_the_same_session(app: App, client: TestClient) -> None:
    @app.get("/same")
    def same(a: Session, b: sqlalchemy.orm.Session) -> dict[str, bool]:
        return {"same": a is b}

    assert client.get("/same").json() == {"same": True}


def test_session_is_closed_after_the_request(app: App, db: Database, client: TestClient) -> None:
    seen: list[Session] = []

    @app.get("/count")
    def count(session: Session) -> dict[str, int]:
        seen.append(session)
        return {"users": len(session.scalars(select(User)).all())}

    assert client.get("/count").json() == {"users": 0}
    assert client.get("/count").json() == {"users": 0}
    assert seen[0] is not seen[1]
    assert not seen[0].in_transaction()
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_lazy_loading_works_while_the_response_is_built(
    app: App, db: Database, client: TestClient
) -> None:
    (user_id,) = add_users(db, "ada")
    with db.session() as session:
        session.add(Post(author_id=user_id, slug="p", title="P"))

    @app.get("/posts")
    def posts(session: Session) -> list[dict[str, str]]:
        rows = session.scalars(select(Post)).all()
        return [{"title": p.title, "author": p.author.name} for p in rows]

    assert client.get("/posts").json() == [{"title": "P", "author": "ada"}]


def test_async_handler_gets_an_async_session_and_commits(
    app: App, db: Database, client: TestClient
) -> None:
    @app.post("/users")
    async def create(data: NewUser, session: AsyncSession) -> dict[str, Any]:
        user = User(**data.model_dump())
        session.add(user)
        await session.flush()
        return {"id": user.id}

    response = client.post("/users", json={"email": "a@example.com", "name": "A"})
    assert response.status_code == 200, response.text
    assert count_users(db) == 1


def test_async_handler_that_fails_rolls_back(app: App, db: Database, client: TestClient) -> None:
    @app.post("/fail")
    async def fail(session: AsyncSession) -> None:
        session.add(User(email="a@example.com", name="A"))
        await session.flush()
        raise RuntimeError("boom")

    assert client.post("/fail").status_code == 500
    assert count_users(db) == 0


def test_async_get_or_404(app: App, db: Database, client: TestClient) -> None:
    (user_id,) = add_users(db, "ada")

    @app.get("/users/{id}")
    async def show(id: int, session: AsyncSession) -> dict[str, str]:
        user = await session.get_or_404(User, id)
        return {"name": user.name}

    assert client.get(f"/users/{user_id}").json() == {"name": "ada"}
    assert client.get("/users/424242").status_code == 404


def test_sync_handler_asking_for_an_async_session_is_a_configuration_error(app: App) -> None:
    from trellis import ConfigurationError

    with pytest.raises(ConfigurationError, match="not `async def`"):

        @app.get("/bad")
        def bad(session: AsyncSession) -> None: ...


def test_routes_registered_before_the_database_get_sessions(
    make_db: Callable[..., tuple[App, Database]], make_client: MakeClient, database_url: str
) -> None:
    app = App(settings={"DATABASE_URL": database_url})

    @app.post("/early")
    def early(session: Session) -> None:
        session.add(User(email="e@example.com", name="E"))

    from .models import Base

    db = Database(app, model=Base)
    db.drop_all()
    db.create_all()
    try:
        assert make_client(app).post("/early").status_code == 204
        assert count_users(db) == 1
    finally:
        db.drop_all()
        db.engine.dispose()


# -- errors --


def test_unique_violation_is_409_naming_the_constraint(
    app: App, db: Database, client: TestClient
) -> None:
    add_users(db, "ada")

    @app.post("/users")
    def create(data: NewUser, session: Session) -> None:
        session.add(User(**data.model_dump()))

    response = client.post("/users", json={"email": "ada@example.com", "name": "Again"})
    assert response.status_code == 409
    assert response.json()["constraint"] == "uq_users_email"
    assert "uq_users_email" in response.json()["detail"]
    assert count_users(db) == 1


def test_unique_violation_found_at_flush_is_409(app: App, db: Database, client: TestClient) -> None:
    (user_id,) = add_users(db, "ada")
    with db.session() as session:
        session.add(Post(author_id=user_id, slug="s", title="first"))

    @app.post("/posts")
    def create(session: Session) -> None:
        session.add(Post(author_id=user_id, slug="s", title="second"))
        session.flush()

    response = client.post("/posts")
    assert response.status_code == 409
    assert response.json()["constraint"] == "uq_posts_author_id_slug"


def test_foreign_key_violation_is_409_naming_the_constraint(app: App, client: TestClient) -> None:
    @app.post("/posts")
    def create(session: Session) -> None:
        session.add(Post(author_id=999, slug="s", title="orphan"))

    response = client.post("/posts")
    assert response.status_code == 409
    assert response.json()["constraint"] == "fk_posts_author_id_users"


def test_check_violation_is_409_naming_the_constraint(app: App, client: TestClient) -> None:
    @app.post("/users")
    def create(data: NewUser, session: Session) -> None:
        session.add(User(**data.model_dump()))

    response = client.post("/users", json={"email": "a@example.com", "name": "A", "age": -3})
    assert response.status_code == 409
    assert response.json()["constraint"] == "ck_users_age_not_negative"


def test_conflict_page_for_browsers_is_html(app: App, db: Database, client: TestClient) -> None:
    add_users(db, "ada")

    @app.post("/users")
    def create(session: Session) -> None:
        session.add(User(email="ada@example.com", name="Again"))

    response = client.post("/users", headers={"accept": "text/html"})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "uq_users_email" in response.text


def test_integrity_error_in_a_session_the_handler_opened_is_409(
    app: App, db: Database, client: TestClient
) -> None:
    add_users(db, "ada")

    @app.post("/users")
    def create() -> None:
        with db.session() as session:
            session.add(User(email="ada@example.com", name="Again"))

    response = client.post("/users")
    assert response.status_code == 409
    assert response.json()["constraint"] == "uq_users_email"


def test_value_too_long_for_its_column_is_400_on_postgres(
    app: App, db: Database, client: TestClient, backend: str
) -> None:
    @app.post("/users")
    def create(session: Session) -> None:
        session.add(User(email="x" * 500, name="A"))

    response = client.post("/users")
    # SQLite does not enforce VARCHAR lengths; PostgreSQL refuses the value.
    assert response.status_code == (400 if backend == "postgresql" else 204)


# -- lookups and pagination --


def test_get_or_404(app: App, db: Database, client: TestClient) -> None:
    (user_id,) = add_users(db, "ada")

    @app.get("/users/{id}")
    def show(id: int, session: Session) -> dict[str, Any]:
        return session.get_or_404(User, id).to_dict()

    assert client.get(f"/users/{user_id}").json()["name"] == "ada"
    missing = client.get("/users/999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "User 999 was not found."


def test_first_or_404(app: App, db: Database, client: TestClient) -> None:
    add_users(db, "ada")

    @app.get("/by-name/{name}")
    def by_name(name: str, session: Session) -> dict[str, Any]:
        return session.first_or_404(select(User).where(User.name == name)).to_dict()

    assert client.get("/by-name/ada").json()["email"] == "ada@example.com"
    assert client.get("/by-name/bob").status_code == 404


@pytest.fixture
def paged_app(app: App, db: Database) -> App:
    add_users(db, *[f"user{i:02}" for i in range(25)])

    @app.get("/users")
    def users(request: Request, session: Session) -> dict[str, Any]:
        page = session.paginate(select(User).order_by(User.id), request, per_page=10)
        return page.to_dict(lambda u: u.name)

    return app


def test_paginate_returns_items_total_and_links(paged_app: App, client: TestClient) -> None:
    body = client.get("/users?page=2&q=x").json()
    assert body["items"] == [f"user{i:02}" for i in range(10, 20)]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (2, 10, 25, 3)
    assert body["links"] == {
        "self": "/users?q=x&page=2",
        "first": "/users?q=x&page=1",
        "prev": "/users?q=x&page=1",
        "next": "/users?q=x&page=3",
        "last": "/users?q=x&page=3",
    }


def test_last_page_has_no_next_link(paged_app: App, client: TestClient) -> None:
    body = client.get("/users?page=3").json()
    assert body["items"] == [f"user{i:02}" for i in range(20, 25)]
    assert body["links"]["next"] is None


def test_per_page_is_capped(paged_app: App, client: TestClient) -> None:
    assert client.get("/users?per_page=100").json()["per_page"] == 100
    assert client.get("/users?per_page=101").status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1e3",
        "page=99999999999999999999",
        "page=1;DROP TABLE users",
        "per_page=0",
        "per_page=%EF%BC%91",  # a full-width digit one
    ],
)
def test_hostile_page_parameters_are_422(
    paged_app: App, client: TestClient, db: Database, query: str
) -> None:
    response = client.get(f"/users?{query}")
    assert response.status_code == 422
    assert count_users(db) == 25


# -- filters and ordering --


@pytest.fixture
def filtered_app(app: App, db: Database) -> App:
    ada, bob = add_users(db, "ada", "bob")
    with db.session() as session:
        python = Tag(name="python")
        session.add_all(
            [
                Post(author_id=ada, slug="a", title="Alpha 100%", views=5, tags=[python]),
                Post(author_id=ada, slug="b", title="Beta", views=50),
                Post(author_id=bob, slug="c", title="Gamma_x", views=500),
            ]
        )
    listing = Filters(
        fields={
            "author": Post.author_id,
            "views": FilterField(Post.views, ["eq", "gte", "lt", "in"]),
            "title": FilterField(Post.title, ["eq", "contains"]),
        },
        sort={"views": Post.views, "title": Post.title},
        default_sort="title",
    )

    @app.get("/posts")
    def posts(request: Request, session: Session) -> list[str]:
        return [p.slug for p in session.scalars(listing.apply(select(Post), request))]

    return app


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("", ["a", "b", "c"]),
        ("author={ada}", ["a", "b"]),
        ("views__gte=50", ["b", "c"]),
        ("views__lt=50&author={ada}", ["a"]),
        ("views__in=5,500", ["a", "c"]),
        ("title__contains=eta", ["b"]),
        ("sort=-views", ["c", "b", "a"]),
        ("sort=-title,views", ["c", "b", "a"]),
        ("page=2&unrelated=1", ["a", "b", "c"]),
    ],
)
def test_filters_and_sorting_from_the_query(
    filtered_app: App, client: TestClient, db: Database, query: str, slugs: list[str]
) -> None:
    with db.session() as session:
        ada = session.scalars(select(User.id).where(User.name == "ada")).one()
    assert client.get(f"/posts?{query.format(ada=ada)}").json() == slugs


@pytest.mark.parametrize(
    "query",
    [
        "author=1 OR 1=1",
        "author=1&author=2",
        "author=abc",
        "views__gte=1;DELETE FROM posts",
        "sort=views;DROP TABLE posts",
        "sort=password",
        "sort=id",
        "sort=title,title,title",
        "title__gte=A",
        "author__contains=1",
        "views__in=" + ",".join(["1"] * 101),
    ],
)
def test_hostile_filter_and_sort_parameters_are_422_and_change_nothing(
    filtered_app: App, client: TestClient, db: Database, query: str
) -> None:
    assert client.get(f"/posts?{query}").status_code == 422
    with db.session() as session:
        assert len(session.scalars(select(Post)).all()) == 3


@pytest.mark.parametrize(
    "text", ["' OR '1'='1", "%", "_", "100%", "\\", "a'); DROP TABLE posts;--"]
)
def test_filter_values_are_bound_parameters_not_sql(
    filtered_app: App, client: TestClient, db: Database, text: str
) -> None:
    from urllib.parse import quote

    response = client.get(f"/posts?title__contains={quote(text)}")
    assert response.status_code == 200
    expected = [
        slug
        for slug, title in [("a", "Alpha 100%"), ("b", "Beta"), ("c", "Gamma_x")]
        if text in title
    ]
    assert response.json() == expected
    with db.session() as session:
        assert len(session.scalars(select(Post)).all()) == 3


def test_unknown_default_sort_is_caught_at_start_up() -> None:
    from trellis import ConfigurationError

    with pytest.raises(ConfigurationError, match="Cannot sort by"):
        Filters(sort={"title": Post.title}, default_sort="nope")


def test_async_paginate_and_first_or_404(app: App, db: Database, client: TestClient) -> None:
    add_users(db, *[f"user{i}" for i in range(5)])

    @app.get("/users")
    async def users(request: Request, session: AsyncSession) -> dict[str, Any]:
        page = await session.paginate(select(User).order_by(User.id), request, per_page=2)
        return page.to_dict(lambda u: u.name)

    @app.get("/first/{name}")
    async def first(name: str, session: AsyncSession) -> dict[str, str]:
        user = await session.first_or_404(select(User).where(User.name == name))
        return {"email": user.email}

    body = client.get("/users?page=3").json()
    assert (body["items"], body["total"], body["pages"]) == (["user4"], 5, 3)
    assert client.get("/first/user1").json() == {"email": "user1@example.com"}
    assert client.get("/first/nobody").status_code == 404


def test_async_session_block_outside_requests(db: Database) -> None:
    from trellis.app import run_sync

    async def work() -> int:
        async with db.async_session() as session:
            session.add(User(email="x@example.com", name="x"))
        async with db.async_session() as session:
            return len((await session.scalars(select(User))).all())

    assert run_sync(work()) == 1


def test_page_to_dict_through_a_pydantic_model(db: Database) -> None:
    from trellis.db import Page

    class UserOut(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(from_attributes=True)
        name: str

    add_users(db, "ada")
    with db.session() as session:
        users = list(session.scalars(select(User)))
    body = Page(users, page=1, per_page=10, total=1).to_dict(UserOut)
    assert body["items"] == [{"name": "ada"}]
    assert body["links"]["next"] is None
