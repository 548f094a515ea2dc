"""Specification of trellis.handlers: how handler parameters are filled and return values answered.

Every HTTP-level test runs under both WSGI and ASGI through the `client` fixture.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import json
import threading
import uuid
from collections import OrderedDict
from typing import Any, Literal

import pydantic
import pytest

from trellis import App, ConfigurationError, PlainTextResponse, Request
from trellis.testing import TestClient

# --------------------------------------------------------------------------------------------
# Sync and async handlers
# --------------------------------------------------------------------------------------------


def test_sync_handler_answers(app: App, client: TestClient) -> None:
    @app.get("/sync")
    def sync_view() -> str:
        return "<p>sync</p>"

    response = client.get("/sync")
    assert response.status_code == 200
    assert response.text == "<p>sync</p>"


def test_async_handler_answers(app: App, client: TestClient) -> None:
    @app.get("/async")
    async def async_view() -> str:
        await asyncio.sleep(0)
        return "<p>async</p>"

    response = client.get("/async")
    assert response.status_code == 200
    assert response.text == "<p>async</p>"


def test_async_handler_receives_params(app: App, client: TestClient) -> None:
    @app.get("/async/{id:int}")
    async def async_params(id: int, q: str = "none") -> dict[str, Any]:
        return {"id": id, "q": q}

    assert client.get("/async/4?q=x").json() == {"id": 4, "q": "x"}


def test_sync_handler_under_asgi_runs_in_a_worker_thread(app: App) -> None:
    @app.get("/thread")
    def thread_name() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    with TestClient(app, protocol="asgi") as client:
        assert client.get("/thread").json()["thread"].startswith("trellis-worker")


def test_async_handler_under_asgi_runs_on_the_event_loop_thread(app: App) -> None:
    @app.get("/thread")
    async def thread_name() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    with TestClient(app, protocol="asgi") as client:
        assert not client.get("/thread").json()["thread"].startswith("trellis-worker")


def test_sync_handler_declared_non_blocking_runs_on_the_event_loop_under_asgi(app: App) -> None:
    @app.get("/thread", sync_to_thread=False)
    def thread_name() -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            on_loop = False
        else:
            on_loop = True
        return {"thread": threading.current_thread().name, "on_loop": on_loop}

    with TestClient(app, protocol="asgi") as client:
        answer = client.get("/thread").json()
    assert not answer["thread"].startswith("trellis-worker")
    assert answer["on_loop"] is True


def test_sync_to_thread_false_keeps_params_and_errors(app: App, client: TestClient) -> None:
    @app.get("/items/{id:int}", sync_to_thread=False)
    def item(id: int, q: str = "none") -> dict[str, Any]:
        if id == 0:
            raise ValueError("boom")
        return {"id": id, "q": q}

    assert client.get("/items/3?q=x").json() == {"id": 3, "q": "x"}
    assert client.get("/items/0").status_code == 500


def test_sync_to_thread_must_be_a_bool(app: App) -> None:
    def view() -> str:
        return "x"

    with pytest.raises(ConfigurationError, match="sync_to_thread must be True or False"):
        app.add_route("/x", view, sync_to_thread="no")


def test_async_handler_under_wsgi_runs_on_an_event_loop(app: App) -> None:
    @app.get("/loop")
    async def loop_info() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)
        return {"running": loop.is_running()}

    with TestClient(app, protocol="wsgi") as client:
        assert client.get("/loop").json() == {"running": True}


def test_callable_object_with_async_call_is_awaited(app: App, client: TestClient) -> None:
    class Endpoint:
        async def __call__(self) -> str:
            return "called"

    app.add_route("/obj", Endpoint(), name="obj")
    assert client.get("/obj").text == "called"


# --------------------------------------------------------------------------------------------
# Path parameters
# --------------------------------------------------------------------------------------------


def test_path_params_are_passed_by_name_with_converter_types(app: App, client: TestClient) -> None:
    @app.get("/orders/{order:int}/items/{sku:uuid}/{rest:path}")
    def order_item(rest: str, sku: uuid.UUID, order: int) -> dict[str, Any]:
        return {
            "order": [order, type(order).__name__],
            "sku": [str(sku), type(sku).__name__],
            "rest": rest,
        }

    sku = "12345678-1234-5678-1234-567812345678"
    assert client.get(f"/orders/9/items/{sku}/a/b").json() == {
        "order": [9, "int"],
        "sku": [sku, "UUID"],
        "rest": "a/b",
    }


def test_handler_may_ignore_some_path_params(app: App, client: TestClient) -> None:
    @app.get("/a/{x}/{y}")
    def only_x(x: str) -> dict[str, str]:
        return {"x": x}

    assert client.get("/a/one/two").json() == {"x": "one"}


def test_str_path_param_with_int_annotation_is_converted(app: App, client: TestClient) -> None:
    @app.get("/users/{id}")
    def user(id: int) -> dict[str, Any]:
        return {"id": id, "type": type(id).__name__}

    assert client.get("/users/12").json() == {"id": 12, "type": "int"}


def test_str_path_param_with_bad_int_is_422_naming_it(app: App, client: TestClient) -> None:
    @app.get("/users/{id}")
    def user(id: int) -> dict[str, int]:
        return {"id": id}

    response = client.get("/users/abc")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert [(e["loc"], e["field"]) for e in body["errors"]] == [(["path", "id"], "id")]
    assert "id" in body["detail"]


def test_str_path_param_with_uuid_annotation_is_converted(app: App, client: TestClient) -> None:
    @app.get("/things/{key}")
    def thing(key: uuid.UUID) -> dict[str, str]:
        return {"type": type(key).__name__}

    assert client.get("/things/12345678-1234-5678-1234-567812345678").json() == {"type": "UUID"}
    assert client.get("/things/nope").status_code == 422


# --------------------------------------------------------------------------------------------
# Query parameters
# --------------------------------------------------------------------------------------------


class Color(enum.StrEnum):
    RED = "red"
    GREEN = "green"


@pytest.fixture
def echo_app(app: App) -> App:
    """Routes that echo one typed query parameter back with its Python type."""

    def echo(value: Any) -> dict[str, Any]:
        shown = value.value if isinstance(value, enum.Enum) else value
        if isinstance(shown, uuid.UUID | datetime.date):
            shown = str(shown)
        return {"value": shown, "type": type(value).__name__}

    @app.get("/int")
    def q_int(v: int) -> dict[str, Any]:
        return echo(v)

    @app.get("/float")
    def q_float(v: float) -> dict[str, Any]:
        return echo(v)

    @app.get("/bool")
    def q_bool(v: bool) -> dict[str, Any]:
        return echo(v)

    @app.get("/uuid")
    def q_uuid(v: uuid.UUID) -> dict[str, Any]:
        return echo(v)

    @app.get("/date")
    def q_date(v: datetime.date) -> dict[str, Any]:
        return echo(v)

    @app.get("/enum")
    def q_enum(v: Color) -> dict[str, Any]:
        return echo(v)

    @app.get("/literal")
    def q_literal(v: Literal["asc", "desc"]) -> dict[str, Any]:
        return echo(v)

    @app.get("/optional")
    def q_optional(v: int | None = None) -> dict[str, Any]:
        return echo(v)

    @app.get("/list")
    def q_list(v: list[int]) -> dict[str, Any]:
        return echo(v)

    @app.get("/list-default")
    def q_list_default(v: list[int] = [7]) -> dict[str, Any]:  # noqa: B006 - never mutated
        return echo(v)

    @app.get("/default")
    def q_default(v: int = 10) -> dict[str, Any]:
        return echo(v)

    @app.get("/plain")
    def q_plain(v) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return echo(v)

    @app.get("/plain-default")
    def q_plain_default(v="fallback") -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return echo(v)

    return app


@pytest.mark.parametrize(
    ("url", "value", "type_name"),
    [
        ("/int?v=42", 42, "int"),
        ("/float?v=2.5", 2.5, "float"),
        (
            "/uuid?v=12345678-1234-5678-1234-567812345678",
            "12345678-1234-5678-1234-567812345678",
            "UUID",
        ),
        ("/date?v=2024-02-29", "2024-02-29", "date"),
        ("/enum?v=green", "green", "Color"),
        ("/literal?v=desc", "desc", "str"),
        ("/optional?v=3", 3, "int"),
    ],
    ids=["int", "float", "uuid", "date", "enum", "literal", "optional"],
)
def test_typed_query_param_is_converted(
    echo_app: App, client: TestClient, url: str, value: Any, type_name: str
) -> None:
    assert client.get(url).json() == {"value": value, "type": type_name}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[(text, True) for text in ("true", "1", "yes", "on")],
        *[(text, False) for text in ("false", "0", "no", "off")],
    ],
)
def test_bool_query_param_accepts_common_spellings(
    echo_app: App, client: TestClient, text: str, value: bool
) -> None:
    assert client.get(f"/bool?v={text}").json() == {"value": value, "type": "bool"}


def test_optional_query_param_defaults_to_none(echo_app: App, client: TestClient) -> None:
    assert client.get("/optional").json() == {"value": None, "type": "NoneType"}


def test_query_param_default_is_used_when_absent(echo_app: App, client: TestClient) -> None:
    assert client.get("/default").json() == {"value": 10, "type": "int"}


def test_list_query_param_collects_repeated_keys(echo_app: App, client: TestClient) -> None:
    assert client.get("/list?v=1&v=2&v=3").json() == {"value": [1, 2, 3], "type": "list"}


def test_list_query_param_with_one_value_is_a_list(echo_app: App, client: TestClient) -> None:
    assert client.get("/list?v=5").json() == {"value": [5], "type": "list"}


def test_list_query_param_default_is_used_when_absent(echo_app: App, client: TestClient) -> None:
    assert client.get("/list-default").json() == {"value": [7], "type": "list"}


def test_list_query_param_bad_item_is_422_with_its_index(echo_app: App, client: TestClient) -> None:
    response = client.get("/list?v=1&v=x")
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["query", "v", "1"]]


def test_unannotated_query_param_is_str(echo_app: App, client: TestClient) -> None:
    assert client.get("/plain?v=5").json() == {"value": "5", "type": "str"}


def test_unannotated_query_param_with_default(echo_app: App, client: TestClient) -> None:
    assert client.get("/plain-default").json() == {"value": "fallback", "type": "str"}


def test_query_param_keeps_blank_value(echo_app: App, client: TestClient) -> None:
    assert client.get("/plain?v=").json() == {"value": "", "type": "str"}


def test_missing_required_query_param_is_422_naming_it(echo_app: App, client: TestClient) -> None:
    response = client.get("/int")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert body["errors"] == [
        {"loc": ["query", "v"], "field": "v", "message": "Field required", "type": "missing"}
    ]
    assert "v: Field required" in body["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/int?v=abc",
        "/int?v=1.5",
        "/int?v=",
        "/float?v=x",
        "/bool?v=maybe",
        "/uuid?v=nope",
        "/date?v=2024-02-30",
        "/enum?v=blue",
        "/literal?v=up",
        "/optional?v=x",
    ],
)
def test_bad_query_param_is_422_naming_it(echo_app: App, client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["loc"][:2] == ["query", "v"]
    assert errors[0]["field"] == "v"


def test_several_bad_query_params_are_reported_together(app: App, client: TestClient) -> None:
    @app.get("/search")
    def search(page: int, size: float, sort: Literal["asc", "desc"], q: str) -> str:
        return "never"

    response = client.get("/search?page=x&size=y&sort=up")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {e["field"]: e["loc"] for e in errors} == {
        "page": ["query", "page"],
        "size": ["query", "size"],
        "sort": ["query", "sort"],
        "q": ["query", "q"],
    }


def test_html_client_gets_validation_errors_as_a_page(echo_app: App, client: TestClient) -> None:
    response = client.get("/int?v=abc", headers={"accept": "text/html"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "<code>v</code>" in response.text


# --------------------------------------------------------------------------------------------
# A pydantic model from the body
# --------------------------------------------------------------------------------------------


class Address(pydantic.BaseModel):
    city: str
    zip: int


class Item(pydantic.BaseModel):
    name: str
    price: float
    tags: list[str] = []


class Customer(pydantic.BaseModel):
    name: str
    address: Address


@pytest.fixture
def body_app(app: App) -> App:
    @app.post("/items")
    def create_item(item: Item) -> dict[str, Any]:
        return {"item": item.model_dump(), "type": type(item).__name__}

    @app.post("/customers")
    def create_customer(customer: Customer) -> Customer:
        return customer

    return app


def test_model_param_is_read_from_json_body(body_app: App, client: TestClient) -> None:
    response = client.post("/items", json={"name": "pen", "price": 1.5, "tags": ["a"]})
    assert response.status_code == 200
    assert response.json() == {
        "item": {"name": "pen", "price": 1.5, "tags": ["a"]},
        "type": "Item",
    }


def test_model_param_is_read_from_json_with_suffix_media_type(
    body_app: App, client: TestClient
) -> None:
    response = client.post(
        "/items",
        content=json.dumps({"name": "pen", "price": 2}),
        headers={"content-type": "application/vnd.example+json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert response.json()["item"] == {"name": "pen", "price": 2.0, "tags": []}


def test_model_param_is_read_from_urlencoded_form(body_app: App, client: TestClient) -> None:
    response = client.post("/items", data={"name": "pen", "price": "2.5", "tags": ["a", "b"]})
    assert response.status_code == 200
    assert response.json()["item"] == {"name": "pen", "price": 2.5, "tags": ["a", "b"]}


def test_model_list_field_from_form_with_one_value_is_a_list(
    body_app: App, client: TestClient
) -> None:
    response = client.post("/items", data={"name": "pen", "price": "2.5", "tags": "a"})
    assert response.status_code == 200
    assert response.json()["item"]["tags"] == ["a"]


def test_model_param_is_read_from_multipart_form(body_app: App, client: TestClient) -> None:
    response = client.post(
        "/items",
        data={"name": "pen", "price": "3"},
        files={"attachment": ("notes.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 200
    assert response.json()["item"] == {"name": "pen", "price": 3.0, "tags": []}


def test_model_validation_error_is_422_with_body_field_paths(
    body_app: App, client: TestClient
) -> None:
    response = client.post("/items", json={"price": "cheap"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["name"]["loc"] == ["body", "name"]
    assert errors["name"]["type"] == "missing"
    assert errors["price"]["loc"] == ["body", "price"]
    assert errors["price"]["type"] == "float_parsing"
    assert "input" not in errors["price"]


def test_nested_model_error_has_dotted_field_path(body_app: App, client: TestClient) -> None:
    response = client.post("/customers", json={"name": "Ada", "address": {"city": "X", "zip": "?"}})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "address", "zip"]
    assert error["field"] == "address.zip"


def test_json_body_that_is_not_an_object_is_422(body_app: App, client: TestClient) -> None:
    response = client.post("/items", json=[1, 2])
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body"]


def test_invalid_json_body_is_400_with_a_message(body_app: App, client: TestClient) -> None:
    response = client.post(
        "/items", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "not valid JSON" in response.json()["detail"]


def test_unsupported_content_type_is_415(body_app: App, client: TestClient) -> None:
    response = client.post("/items", content=b"name=pen", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert "'text/plain'" in detail
    assert "application/json" in detail


def test_body_without_content_type_is_415(body_app: App, client: TestClient) -> None:
    response = client.post("/items", content=b'{"name": "pen", "price": 1}')
    assert response.status_code == 415


def test_empty_body_is_400(body_app: App, client: TestClient) -> None:
    response = client.post("/items")
    assert response.status_code == 400
    assert "no body" in response.json()["detail"]


def test_empty_json_body_is_400(body_app: App, client: TestClient) -> None:
    response = client.post("/items", content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_json_nested_deeper_than_the_limit_is_400(body_app: App, client: TestClient) -> None:
    deep: Any = "bottom"
    for _ in range(100):
        deep = [deep]
    response = client.post("/items", json={"name": "pen", "price": 1, "tags": deep})
    assert response.status_code == 400
    assert "nesting exceeds the limit of 64" in response.json()["detail"]


def test_json_depth_limit_is_a_setting(make_client: Any) -> None:
    app = App(settings={"MAX_JSON_DEPTH": 2})

    @app.post("/customers")
    def create_customer(customer: Customer) -> Customer:
        return customer

    client = make_client(app)
    ok = client.post("/customers", json={"name": "Ada", "address": {"city": "X", "zip": 1}})
    assert ok.status_code == 200
    too_deep = client.post("/customers", json={"name": "A", "address": {"city": {"x": [1]}}})
    assert too_deep.status_code == 400


def test_model_param_combines_with_path_and_query_params(app: App, client: TestClient) -> None:
    @app.put("/shops/{shop:int}/items")
    def put_item(shop: int, item: Item, dry_run: bool = False) -> dict[str, Any]:
        return {"shop": shop, "name": item.name, "dry_run": dry_run}

    response = client.put("/shops/3/items?dry_run=yes", json={"name": "pen", "price": 1})
    assert response.json() == {"shop": 3, "name": "pen", "dry_run": True}


def test_query_and_body_errors_are_reported_together(app: App, client: TestClient) -> None:
    @app.post("/items")
    def create(item: Item, count: int) -> str:
        return "never"

    response = client.post("/items?count=x", json={"name": "pen"})
    assert response.status_code == 422
    assert sorted(e["loc"] for e in response.json()["errors"]) == [
        ["body", "price"],
        ["query", "count"],
    ]


# --------------------------------------------------------------------------------------------
# Injection: Request and providers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("param_name", ["request", "req", "r"])
def test_request_is_injected_by_annotation_under_any_name(
    app: App, client: TestClient, param_name: str
) -> None:
    def endpoint(**kwargs: Any) -> dict[str, Any]:
        request = kwargs[param_name]
        return {"is_request": isinstance(request, Request), "path": request.path}

    # Build `def handler(<param_name>: Request)` without **kwargs (which handlers refuse).
    namespace: dict[str, Any] = {"Request": Request, "endpoint": endpoint}
    exec(
        f"def handler({param_name}: Request):\n    return endpoint({param_name}={param_name})",
        namespace,
    )
    app.add_route("/whoami", namespace["handler"])
    assert client.get("/whoami").json() == {"is_request": True, "path": "/whoami"}


def test_request_is_injected_alongside_path_params(app: App, client: TestClient) -> None:
    @app.get("/users/{id:int}")
    def user(req: Request, id: int) -> dict[str, Any]:
        return {"id": id, "method": req.method, "params": req.path_params}

    assert client.get("/users/5").json() == {"id": 5, "method": "GET", "params": {"id": 5}}


class Database:
    def __init__(self, user: str) -> None:
        self.user = user


def test_provided_type_is_injected(app: App, client: TestClient) -> None:
    app.provide(Database, lambda request: Database(request.headers.get("x-user", "anonymous")))

    @app.get("/me")
    def me(db: Database) -> dict[str, str]:
        return {"user": db.user}

    assert client.get("/me", headers={"x-user": "ada"}).json() == {"user": "ada"}
    assert client.get("/me").json() == {"user": "anonymous"}


def test_provider_is_called_for_each_request(app: App, client: TestClient) -> None:
    calls: list[str] = []

    def make_db(request: Request) -> Database:
        calls.append(request.path)
        return Database("x")

    app.provide(Database, make_db)

    @app.get("/db")
    def use_db(db: Database) -> str:
        return "ok"

    client.get("/db")
    client.get("/db")
    assert calls == ["/db", "/db"]


def test_provide_applies_to_routes_registered_before_it(app: App, client: TestClient) -> None:
    @app.get("/me")
    def me(db: Database) -> dict[str, str]:
        return {"user": db.user}

    app.provide(Database, lambda request: Database("ada"))
    assert client.get("/me").json() == {"user": "ada"}


def test_provide_overrides_query_reading_for_routes_registered_before_it(
    app: App, client: TestClient
) -> None:
    @app.get("/today")
    def today(day: datetime.date) -> dict[str, str]:
        return {"day": day.isoformat()}

    app.provide(datetime.date, lambda request: datetime.date(2024, 1, 2))
    assert client.get("/today").json() == {"day": "2024-01-02"}


# --------------------------------------------------------------------------------------------
# Registration-time errors
# --------------------------------------------------------------------------------------------


def test_var_positional_param_is_refused_naming_handler_and_param(app: App) -> None:
    def takes_rest(*rest: str) -> str:
        return "never"

    with pytest.raises(ConfigurationError) as info:
        app.add_route("/x", takes_rest)
    assert "takes_rest" in str(info.value)
    assert "rest" in str(info.value).replace("takes_rest", "")


def test_var_keyword_param_is_refused_naming_handler_and_param(app: App) -> None:
    def takes_options(**options: str) -> str:
        return "never"

    with pytest.raises(ConfigurationError) as info:
        app.add_route("/x", takes_options)
    assert "takes_options" in str(info.value)
    assert "options" in str(info.value).replace("takes_options", "")


def test_positional_only_param_is_refused(app: App) -> None:
    def positional(page: int, /) -> str:
        return "never"

    with pytest.raises(ConfigurationError, match=r"positional.*'page'"):
        app.add_route("/x", positional)


class Widget:
    """A plain class the framework cannot read from a request."""


def test_param_of_unsupported_type_is_refused_at_startup_naming_handler_and_param(
    app: App,
) -> None:
    # Registration waits: App.provide(Widget, ...) may still come. Start-up refuses.
    def uses_widget(gadget: Widget) -> str:
        return "never"

    app.add_route("/x", uses_widget)
    with pytest.raises(ConfigurationError) as info:
        app.startup()
    message = str(info.value)
    assert "uses_widget" in message
    assert "'gadget'" in message
    assert "App.provide()" in message


def test_dict_param_is_refused_at_startup(app: App) -> None:
    def uses_dict(filters: dict[str, str]) -> str:
        return "never"

    app.add_route("/x", uses_dict)
    with pytest.raises(ConfigurationError, match="'filters'"):
        app.startup()


def test_two_body_models_are_refused(app: App) -> None:
    def two_bodies(item: Item, customer: Customer) -> str:
        return "never"

    with pytest.raises(ConfigurationError) as info:
        app.add_route("/x", two_bodies, ("POST",))
    message = str(info.value)
    assert "two_bodies" in message
    assert "'item'" in message
    assert "'customer'" in message


def test_unresolvable_annotation_is_refused_naming_handler(app: App) -> None:
    def broken(x: NoSuchType) -> str:  # type: ignore[name-defined]  # noqa: F821
        return "never"

    with pytest.raises(ConfigurationError, match="broken"):
        app.add_route("/x", broken)


# --------------------------------------------------------------------------------------------
# Return values
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Secret:
    def __repr__(self) -> str:
        return "<Secret token=hunter2>"


def test_str_is_html(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: "<p>héllo</p>", name="home")
    response = client.get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>héllo</p>"


def test_bytes_are_octet_stream(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: b"\x00\x01", name="home")
    response = client.get("/")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1}, {"a": 1}),
        ([1, "two"], [1, "two"]),
        (Point(1, 2), {"x": 1, "y": 2}),
        (Address(city="Oslo", zip=150), {"city": "Oslo", "zip": 150}),
    ],
    ids=["dict", "list", "dataclass", "pydantic"],
)
def test_data_is_json(app: App, client: TestClient, value: Any, expected: Any) -> None:
    app.add_route("/", lambda: value, name="home")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


def test_dict_subclass_is_json(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: OrderedDict(a=1), name="home")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"a": 1}


def test_str_subclass_is_html(app: App, client: TestClient) -> None:
    class Markup(str):
        pass

    app.add_route("/", lambda: Markup("<b>safe</b>"), name="home")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<b>safe</b>"


def test_none_is_204_with_empty_body(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: None, ("DELETE",), name="home")
    response = client.delete("/")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


def test_body_and_status_tuple(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: ({"created": True}, 201), ("POST",), name="home")
    response = client.post("/")
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"created": True}


def test_body_status_and_headers_tuple(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: ("<p>queued</p>", 202, {"X-Job": "7"}), ("POST",), name="home")
    response = client.post("/")
    assert response.status_code == 202
    assert response.headers["x-job"] == "7"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>queued</p>"


def test_response_is_returned_as_is(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: PlainTextResponse("teapot", 418, {"x-a": "b"}), name="home")
    response = client.get("/")
    assert response.status_code == 418
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-a"] == "b"
    assert response.text == "teapot"


def test_async_handler_return_values_are_converted_too(app: App, client: TestClient) -> None:
    @app.get("/")
    async def home() -> tuple[dict[str, int], int]:
        return {"n": 1}, 201

    response = client.get("/")
    assert response.status_code == 201
    assert response.json() == {"n": 1}


def test_unsupported_return_is_500_without_internals(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: Secret(), name="home")
    response = client.get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 500
    assert body["detail"] == "The server hit an unexpected error. It has been logged."
    assert "traceback" not in body
    assert "hunter2" not in response.text
    assert "Secret" not in response.text
    assert "Traceback" not in response.text


def test_bad_tuple_return_is_500_without_internals(app: App, client: TestClient) -> None:
    app.add_route("/", lambda: ("body", "200"), name="home")
    response = client.get("/")
    assert response.status_code == 500
    assert "tuple" not in response.json()["detail"]


def test_unsupported_return_in_debug_shows_the_reason(
    make_client: Any,
) -> None:
    app = App(settings={"DEBUG": True})
    app.add_route("/", lambda: Secret(), name="home")
    response = make_client(app).get("/")
    assert response.status_code == 500
    body = response.json()
    assert "TypeError" in body["detail"]
    assert "'Secret'" in body["detail"]
    assert any("Traceback" in line for line in body["traceback"])


def test_handler_exception_is_500_without_internals(app: App, client: TestClient) -> None:
    @app.get("/")
    def home() -> str:
        raise RuntimeError("database password is hunter2")

    response = client.get("/")
    assert response.status_code == 500
    assert "hunter2" not in response.text
