"""REST resources from a model: every status code, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trellis import App
from trellis.auth.apikeys import APIKeys
from trellis.errors import ConfigurationError
from trellis.openapi import generate_openapi
from trellis.resources import Resource
from trellis.testing import TestClient


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    price: Mapped[float]
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    note: Mapped[str | None] = mapped_column(sa.Text)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def app(engine: sa.Engine) -> App:
    app = App(settings={})
    Resource(app, Item, engine=engine, filters=["status"], ordering=["name", "price"], per_page=3)
    return app


@pytest.fixture
def add(client: TestClient) -> Callable[..., dict[str, Any]]:
    def make(name: str, price: float = 1.0, **extra: Any) -> dict[str, Any]:
        response = client.post("/items", json={"name": name, "price": price, **extra})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make


# -- create --


def test_create_is_201_with_location_and_etag(client: TestClient) -> None:
    response = client.post("/items", json={"name": "lamp", "price": 12.5})

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "lamp",
        "price": 12.5,
        "status": "draft",
        "note": None,
    }
    assert response.headers["location"] == f"/items/{body['id']}"
    assert response.headers["etag"].startswith('"')
    assert client.get(response.headers["location"]).json() == body


@pytest.mark.parametrize(
    "payload",
    [
        {"price": 1},  # name missing
        {"name": "x", "price": "1"},  # a string is not a number
        {"name": "x", "price": 1, "colour": "red"},  # unknown field
        {"name": "x" * 51, "price": 1},  # longer than the column
        {"name": "x", "price": 1, "id": 7},  # the database assigns ids
    ],
)
def test_create_with_invalid_body_is_422(client: TestClient, payload: dict[str, Any]) -> None:
    response = client.post("/items", json=payload)

    assert response.status_code == 422
    assert response.json()["errors"]


def test_create_with_a_taken_unique_value_is_409(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    add("lamp")

    response = client.post("/items", json={"name": "lamp", "price": 2})

    assert response.status_code == 409
    assert "conflicts" in response.json()["detail"]


# -- list --


def test_list_pages_with_totals(client: TestClient, add: Callable[..., dict[str, Any]]) -> None:
    for index in range(5):
        add(f"item{index}")

    body = client.get("/items?page=2").json()

    assert [item["name"] for item in body["items"]] == ["item3", "item4"]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (2, 3, 5, 2)


def test_list_filters_by_allowed_fields_only(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    add("a", status="live")
    add("b")

    assert [i["name"] for i in client.get("/items?status=live").json()["items"]] == ["a"]
    response = client.get("/items?name=a")
    assert response.status_code == 422
    assert "not a filter" in response.json()["errors"][0]["message"]


def test_list_orders_by_allowed_fields(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    add("cheap", 1)
    add("dear", 9)
    add("mid", 5)

    names = [i["name"] for i in client.get("/items?sort=-price").json()["items"]]

    assert names == ["dear", "mid", "cheap"]
    assert client.get("/items?sort=status").status_code == 422
    assert client.get("/items?sort=--price").status_code == 422


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=101", "per_page=-1"])
def test_list_with_bad_paging_is_422(client: TestClient, query: str) -> None:
    assert client.get(f"/items?{query}").status_code == 422


# -- retrieve --


def test_retrieve_unknown_id_is_404(client: TestClient) -> None:
    response = client.get("/items/999")

    assert response.status_code == 404
    assert "999" in response.json()["detail"]


def test_retrieve_with_current_etag_is_304(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp")
    etag = client.get(f"/items/{item['id']}").headers["etag"]

    response = client.get(f"/items/{item['id']}", headers={"if-none-match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert client.get(f"/items/{item['id']}", headers={"if-none-match": '"old"'}).status_code == 200


# -- update --


def test_put_replaces_every_field(client: TestClient, add: Callable[..., dict[str, Any]]) -> None:
    item = add("lamp", 3, note="old")

    response = client.put(
        f"/items/{item['id']}", json={"name": "lamp", "price": 4, "status": "live", "note": None}
    )

    assert response.status_code == 200
    assert response.json() == {**item, "price": 4.0, "status": "live", "note": None}


def test_put_needs_every_field(client: TestClient, add: Callable[..., dict[str, Any]]) -> None:
    item = add("lamp")

    assert client.put(f"/items/{item['id']}", json={"price": 4}).status_code == 422


def test_patch_changes_only_what_is_sent(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp", 3, note="keep")

    response = client.patch(f"/items/{item['id']}", json={"price": 5})

    assert response.status_code == 200
    assert response.json() == {**item, "price": 5.0}


def test_patch_cannot_null_a_required_field(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp", note="x")

    assert client.patch(f"/items/{item['id']}", json={"name": None}).status_code == 422
    assert client.patch(f"/items/{item['id']}", json={"note": None}).json()["note"] is None


def test_update_to_a_taken_unique_value_is_409(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    add("lamp")
    chair = add("chair")

    assert client.patch(f"/items/{chair['id']}", json={"name": "lamp"}).status_code == 409


def test_update_of_unknown_id_is_404(client: TestClient) -> None:
    assert client.patch("/items/999", json={"price": 1}).status_code == 404


# -- ETags and If-Match --


def test_update_with_current_if_match_succeeds_and_changes_the_etag(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp")
    etag = client.get(f"/items/{item['id']}").headers["etag"]

    response = client.patch(f"/items/{item['id']}", json={"price": 2}, headers={"if-match": etag})

    assert response.status_code == 200
    assert response.headers["etag"] != etag


def test_stale_if_match_is_412(client: TestClient, add: Callable[..., dict[str, Any]]) -> None:
    item = add("lamp")
    etag = client.get(f"/items/{item['id']}").headers["etag"]
    client.patch(f"/items/{item['id']}", json={"price": 2})

    response = client.patch(f"/items/{item['id']}", json={"price": 3}, headers={"if-match": etag})

    assert response.status_code == 412
    assert client.get(f"/items/{item['id']}").json()["price"] == 2.0


def test_two_writers_from_the_same_etag_the_second_gets_412(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp")
    etag = client.get(f"/items/{item['id']}").headers["etag"]
    url = f"/items/{item['id']}"

    first = client.put(
        url, json={"name": "lamp", "price": 2, "status": "a"}, headers={"if-match": etag}
    )
    second = client.put(
        url, json={"name": "lamp", "price": 3, "status": "b"}, headers={"if-match": etag}
    )

    assert (first.status_code, second.status_code) == (200, 412)
    assert client.get(url).json()["status"] == "a"


def test_concurrent_writers_from_one_etag_only_one_wins(
    app: App, add: Callable[..., dict[str, Any]], protocol: str
) -> None:
    item = add("lamp")
    url = f"/items/{item['id']}"
    clients = [TestClient(app, protocol=protocol) for _ in range(6)]
    for c in clients:
        c.__enter__()
    etag = clients[0].get(url).headers["etag"]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def write(c: TestClient, price: int) -> None:
        barrier.wait()
        response = c.patch(url, json={"price": price}, headers={"if-match": etag})
        statuses.append(response.status_code)

    # Every writer sets a new price (an unchanged row would keep its ETag, rightly matching).
    threads = [threading.Thread(target=write, args=(c, 10 + n)) for n, c in enumerate(clients)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for c in clients:
            c.__exit__(None, None, None)

    assert sorted(statuses) == [200] + [412] * 5


def test_if_match_star_matches_any_version(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp")

    response = client.patch(f"/items/{item['id']}", json={"price": 2}, headers={"if-match": "*"})

    assert response.status_code == 200


def test_if_match_can_be_required(
    engine: sa.Engine, make_client: Callable[..., TestClient]
) -> None:
    app = App(settings={})
    Resource(app, Item, engine=engine, require_if_match=True)
    client = make_client(app)
    item = client.post("/items", json={"name": "lamp", "price": 1}).json()

    response = client.patch(f"/items/{item['id']}", json={"price": 2})

    assert response.status_code == 428
    assert client.delete(f"/items/{item['id']}").status_code == 428


# -- delete --


def test_delete_is_204_then_404(client: TestClient, add: Callable[..., dict[str, Any]]) -> None:
    item = add("lamp")

    response = client.delete(f"/items/{item['id']}")

    assert response.status_code == 204
    assert client.get(f"/items/{item['id']}").status_code == 404
    assert client.delete(f"/items/{item['id']}").status_code == 404


def test_delete_with_stale_if_match_is_412(
    client: TestClient, add: Callable[..., dict[str, Any]]
) -> None:
    item = add("lamp")
    etag = client.get(f"/items/{item['id']}").headers["etag"]
    client.patch(f"/items/{item['id']}", json={"price": 9})

    assert client.delete(f"/items/{item['id']}", headers={"if-match": etag}).status_code == 412
    assert client.get(f"/items/{item['id']}").status_code == 200


# -- options, scopes, documentation --


def test_only_the_chosen_actions_are_routed(
    engine: sa.Engine, make_client: Callable[..., TestClient]
) -> None:
    app = App(settings={})
    Resource(app, Item, engine=engine, actions=["list", "retrieve"])
    client = make_client(app)

    assert client.get("/items").status_code == 200
    assert client.post("/items", json={"name": "x", "price": 1}).status_code == 405


def test_plain_handlers_sit_beside_a_resource(
    client: TestClient, app: App, add: Callable[..., dict[str, Any]]
) -> None:
    @app.get("/items/stats")
    def stats() -> dict[str, int]:
        return {"count": 1}

    add("lamp")

    assert client.get("/items/stats").json() == {"count": 1}
    assert client.get("/items").json()["total"] == 1


def test_scopes_per_action(
    engine: sa.Engine, make_client: Callable[..., TestClient], database_url: str
) -> None:
    app = App(settings={})
    keys = APIKeys(app, database_url=database_url)
    keys.store.create_table()
    Resource(app, Item, engine=engine, scopes={"read": "items:read", "write": "items:write"})
    client = make_client(app)
    try:
        _, reader = keys.create("reader", ["items:read"])
        _, writer = keys.create("writer", ["items:read", "items:write"])

        assert client.get("/items").status_code == 401
        assert client.get("/items", headers={"x-api-key": reader}).status_code == 200
        denied = client.post(
            "/items", json={"name": "x", "price": 1}, headers={"x-api-key": reader}
        )
        assert denied.status_code == 403
        assert "items:write" in denied.json()["detail"]
        created = client.post(
            "/items", json={"name": "x", "price": 1}, headers={"x-api-key": writer}
        )
        assert created.status_code == 201
    finally:
        keys.store.table.drop(keys.store.engine, checkfirst=True)
        keys.store.engine.dispose()


def test_the_resource_is_documented_in_openapi(app: App) -> None:
    document = generate_openapi(app)

    validate(document)
    paths = document["paths"]
    assert set(paths) == {"/items", "/items/{id}"}
    assert set(paths["/items/{id}"]) == {"get", "put", "patch", "delete"}
    create = paths["/items"]["post"]
    assert {"201", "409", "422"} <= set(create["responses"])
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ItemCreate"
    }
    listed = {p["name"]: p for p in paths["/items"]["get"]["parameters"]}
    assert listed["sort"]["schema"]["enum"] == ["name", "-name", "price", "-price"]
    assert listed["status"]["schema"] == {"type": "string"}
    put = paths["/items/{id}"]["put"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in put["parameters"])
    assert "412" in put["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["ItemCreate"]["required"] == ["name", "price"]
    assert "name" not in schemas["ItemPatch"].get("required", [])


def test_a_model_without_a_single_primary_key_is_refused() -> None:
    class Pair(Base):
        __tablename__ = "pairs"
        left: Mapped[int] = mapped_column(primary_key=True)
        right: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(ConfigurationError, match="single-column primary key"):
        Resource(App(settings={}), Pair, engine=sa.create_engine("sqlite://"))
    Base.metadata.remove(Pair.__table__)


def test_unknown_filter_columns_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'colour' is not a column"):
        Resource(App(settings={}), Item, engine=sa.create_engine("sqlite://"), filters=["colour"])


# -- hostile input --


@pytest.mark.parametrize("item_id", ["3000000000", "99999999999999999999999"])
def test_ids_beyond_the_column_range_are_404(client: TestClient, item_id: str) -> None:
    assert client.get(f"/items/{item_id}").status_code == 404
    assert client.delete(f"/items/{item_id}").status_code == 404


@pytest.mark.parametrize("query", ["page=1&page=2", "per_page=", "per_page=&per_page=false"])
def test_repeated_or_empty_paging_parameters_are_422(client: TestClient, query: str) -> None:
    assert client.get(f"/items?{query}").status_code == 422


def test_a_nul_character_is_never_a_server_error(client: TestClient, database_url: str) -> None:
    response = client.post("/items", json={"name": "a\x00b", "price": 1})

    # PostgreSQL cannot store NUL in text: a 422 saying so; SQLite stores it.
    expected = 422 if database_url.startswith("postgresql") else 201
    assert response.status_code == expected


def test_location_and_etag_headers_are_documented(app: App) -> None:
    paths = generate_openapi(app)["paths"]

    created = paths["/items"]["post"]["responses"]["201"]
    assert set(created["headers"]) == {"Location", "ETag"}
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}
    assert "ETag" in paths["/items/{id}"]["get"]["responses"]["200"]["headers"]
