"""The blog example (examples/blog): migrated with its own migrations, then used through its
API, on SQLite and PostgreSQL, under WSGI and ASGI."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import inspect

from trellis.db import Database, migrations
from trellis.testing import TestClient

BLOG = Path(__file__).resolve().parents[2] / "examples" / "blog"


@pytest.fixture(scope="module")
def blog() -> ModuleType:
    spec = importlib.util.spec_from_file_location("blog_example_app", BLOG / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(
    blog: ModuleType, database_url: str, make_client: Callable[..., TestClient]
) -> Iterator[TestClient]:
    app = blog.create_app({"DATABASE_URL": database_url})
    db = Database.of(app)
    assert db.migrations_path == BLOG / "migrations"
    migrations.upgrade(db)
    try:
        yield make_client(app)
    finally:
        migrations.downgrade(db, "base")
        db.engine.dispose()


def new_user(client: TestClient, name: str = "ada") -> int:
    response = client.post("/users", json={"email": f"{name}@example.com", "name": name})
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


def new_post(client: TestClient, author: int, title: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/posts", json={"title": title, "author_id": author, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_migrations_build_the_schema(
    blog: ModuleType, database_url: str, client: TestClient
) -> None:
    db = Database.of(client.app)  # type: ignore[arg-type]
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "posts", "tags", "post_tags", "alembic_version"} <= tables


def test_create_a_post_with_tags_and_read_it_back(client: TestClient) -> None:
    ada = new_user(client)
    created = new_post(client, ada, "Hello World", body="First!", tags=["Intro", "python"])
    assert created["slug"] == "hello-world"
    shown = client.get(f"/posts/{created['id']}").json()
    assert shown["author"] == {"id": ada, "name": "ada"}
    assert shown["tags"] == ["intro", "python"]
    assert [t["name"] for t in client.get("/tags").json()] == ["intro", "python"]


def test_tags_are_shared_between_posts(client: TestClient) -> None:
    ada = new_user(client)
    new_post(client, ada, "One", tags=["python"])
    new_post(client, ada, "Two", tags=["python", "sql"])
    assert len(client.get("/tags").json()) == 2
    listed = client.get("/posts?tag=python&sort=title").json()
    assert [p["title"] for p in listed["items"]] == ["One", "Two"]


def test_form_posts_work_like_json(client: TestClient) -> None:
    ada = new_user(client)
    response = client.post(
        "/posts", data={"title": "From a form", "author_id": str(ada), "tags": ["a", "b"]}
    )
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == ["a", "b"]


def test_tags_typed_in_one_form_field_are_split_at_commas(client: TestClient) -> None:
    ada = new_user(client)
    response = client.post(
        "/posts", data={"title": "Tagged", "author_id": str(ada), "tags": "Python, sql,, "}
    )
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == ["python", "sql"]


def test_too_long_tag_is_422(client: TestClient) -> None:
    ada = new_user(client)
    response = client.post("/posts", json={"title": "T", "author_id": ada, "tags": ["x" * 51]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tags"


def test_invalid_form_is_422_per_field(client: TestClient) -> None:
    response = client.post("/users", data={"email": "not-an-email", "name": ""})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"email", "name"}


def test_duplicate_email_is_409(client: TestClient) -> None:
    new_user(client)
    response = client.post("/users", json={"email": "ada@example.com", "name": "Other"})
    assert response.status_code == 409
    assert response.json()["constraint"] == "uq_users_email"


def test_duplicate_slug_is_409_and_nothing_is_half_written(client: TestClient) -> None:
    ada = new_user(client)
    new_post(client, ada, "Same title", tags=["x"])
    response = client.post(
        "/posts", json={"title": "Same title", "author_id": ada, "tags": ["new-tag"]}
    )
    assert response.status_code == 409
    assert response.json()["constraint"] == "uq_posts_slug"
    assert [t["name"] for t in client.get("/tags").json()] == ["x"]


def test_post_by_unknown_author_is_404(client: TestClient) -> None:
    response = client.post("/posts", json={"title": "T", "author_id": 999})
    assert response.status_code == 404
    assert response.json()["detail"] == "No such author."


def test_listing_is_paginated_filtered_and_sorted(client: TestClient) -> None:
    ada, bob = new_user(client, "ada"), new_user(client, "bob")
    for i in range(12):
        new_post(client, ada if i % 2 else bob, f"Post {i:02}", published=i < 6)
    first = client.get("/posts?sort=title").json()
    assert (first["total"], first["pages"], len(first["items"])) == (12, 2, 10)
    assert first["links"]["next"] == "/posts?sort=title&page=2"
    page2 = client.get(first["links"]["next"]).json()
    assert [p["title"] for p in page2["items"]] == ["Post 10", "Post 11"]
    mine = client.get(f"/posts?author={ada}&published=true&sort=-title").json()
    assert [p["title"] for p in mine["items"]] == ["Post 05", "Post 03", "Post 01"]
    assert client.get("/posts?sort=body").status_code == 422


def test_delete_post_cascades_its_tag_links(client: TestClient) -> None:
    ada = new_user(client)
    post = new_post(client, ada, "Doomed", tags=["t"])
    assert client.delete(f"/posts/{post['id']}").status_code == 204
    assert client.get(f"/posts/{post['id']}").status_code == 404
    assert client.delete(f"/posts/{post['id']}").status_code == 404


# -- HTML pages and the form --


def test_index_without_posts_invites_to_write(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="empty"' in page.text


def test_write_form_lists_the_authors(client: TestClient) -> None:
    new_user(client, "ada")
    page = client.get("/write")
    assert page.status_code == 200
    assert "<form" in page.text and ">ada</option>" in page.text


def test_submitting_the_form_creates_the_post_and_redirects_to_it(client: TestClient) -> None:
    ada = new_user(client)
    response = client.post(
        "/write",
        data={
            "author_id": str(ada),
            "title": "Via the form",
            "body": "Hi",
            "tags": "a, b",
            "published": "true",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"], headers={"accept": "text/html"})
    assert "<h1>Via the form</h1>" in page.text
    index = client.get("/").text
    assert "Via the form" in index and 'href="/?tag=a"' in index


def test_invalid_form_is_shown_again_with_errors_and_the_values_kept(client: TestClient) -> None:
    ada = new_user(client)
    response = client.post(
        "/write", data={"author_id": str(ada), "title": "", "body": "kept <b>text</b>"}
    )
    assert response.status_code == 422
    assert 'id="errors"' in response.text and "title:" in response.text
    assert "kept &lt;b&gt;text&lt;/b&gt;" in response.text


def test_duplicate_title_from_the_form_is_409_with_the_form_again(client: TestClient) -> None:
    ada = new_user(client)
    new_post(client, ada, "Taken")
    response = client.post("/write", data={"author_id": str(ada), "title": "Taken"})
    assert response.status_code == 409
    assert "exists already" in response.text and "<form" in response.text


def test_post_page_escapes_what_users_wrote(client: TestClient) -> None:
    ada = new_user(client)
    post = new_post(client, ada, "<script>alert(1)</script>", body="<img src=x onerror=alert(1)>")
    page = client.get(f"/posts/{post['id']}", headers={"accept": "text/html"}).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<img" not in page


def test_index_shows_published_posts_only_and_filters_by_tag(client: TestClient) -> None:
    ada = new_user(client)
    new_post(client, ada, "Public one", published=True, tags=["x"])
    new_post(client, ada, "Public two", published=True, tags=["y"])
    new_post(client, ada, "Draft", published=False, tags=["x"])
    index = client.get("/").text
    assert "Public one" in index and "Public two" in index and "Draft" not in index
    tagged = client.get("/?tag=x").text
    assert "Public one" in tagged and "Public two" not in tagged


def test_one_post_is_html_for_browsers_and_data_for_programs(client: TestClient) -> None:
    ada = new_user(client)
    post = new_post(client, ada, "Negotiated", tags=["n"])
    url = f"/posts/{post['id']}"
    html = client.get(url, headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<h1>Negotiated</h1>" in html.text
    assert client.get(url).json()["title"] == "Negotiated"
    yaml_body = client.get(url, headers={"accept": "application/yaml"})
    assert yaml_body.headers["content-type"].startswith("application/yaml")
    assert "title: Negotiated" in yaml_body.text


def test_the_page_of_posts_is_negotiated_too(client: TestClient) -> None:
    ada = new_user(client)
    for i in range(12):
        new_post(client, ada, f"Archived {i:02}")
    html = client.get("/posts?sort=title", headers={"accept": "text/html"}).text
    assert "All posts (12)" in html and 'rel="next" href="/posts?sort=title&amp;page=2"' in html
    xml = client.get("/posts?sort=title", headers={"accept": "application/xml"})
    assert xml.status_code == 200 and "<total>12</total>" in xml.text
