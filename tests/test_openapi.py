"""The OpenAPI 3.1 document generated from routes and type hints, and the docs page routes."""

from __future__ import annotations

import enum
import uuid
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from trellis import App, Response, Router
from trellis.auth.scopes import APIKey, requires_scope
from trellis.errors import ConfigurationError
from trellis.openapi import OpenAPI, generate_openapi
from trellis.testing import TestClient


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    """Something for sale."""

    name: str = Field(min_length=1, max_length=50)
    price: float = Field(ge=0)
    color: Color | None = None


class ItemOut(BaseModel):
    id: int
    name: str


class Payload(BaseModel):
    value: int = Field(alias="Value")


class Opaque:
    pass


def operation(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    result: dict[str, Any] = document["paths"][path][method]
    return result


def params_by_name(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", [])}


@pytest.fixture
def api_app() -> App:
    app = App(settings={})
    app.provide(APIKey, lambda request: None)

    @app.get("/items", tags=["items"])
    def list_items(limit: int = 10, q: str | None = None, tag: tuple[str, ...] = ()) -> list[Item]:
        """List the items.

        Filtered by `q` and `tag`."""
        return []

    @app.post("/items", tags=["items"], responses={201: "Created", 409: "Name already used"})
    @requires_scope("items:write")
    def create_item(item: Item) -> ItemOut:
        return ItemOut(id=1, name=item.name)

    @app.get("/items/{item_id:int}", tags=["items"])
    def get_item(item_id: int) -> ItemOut | None:
        return None

    @app.delete("/items/{item_id:int}", tags=["items"])
    def delete_item(item_id: int) -> None:
        return None

    @app.get("/users/{user_id}")
    def get_user(user_id: uuid.UUID, key: APIKey) -> dict[str, str]:
        return {}

    @app.get("/colors/{color}")
    def by_color(color: str) -> str:
        return color

    @app.get("/search")
    def search(term: str, color: Color = Color.RED) -> Response:
        return Response(b"")

    @app.get("/internal", include_in_schema=False)
    def internal() -> str:
        return ""

    return app


def test_document_validates_against_the_openapi_31_schema(api_app: App) -> None:
    document = generate_openapi(api_app, title="Shop", version="2.0")

    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Shop", "version": "2.0"}


def test_path_converters_become_typed_path_parameters(api_app: App) -> None:
    document = generate_openapi(api_app)

    item_id = params_by_name(operation(document, "/items/{item_id}"))["item_id"]
    assert item_id == {
        "name": "item_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
    color = params_by_name(operation(document, "/colors/{color}"))["color"]
    assert color["schema"] == {"type": "string", "pattern": "^[^/]+$"}


def test_a_typed_string_path_parameter_uses_the_handler_annotation(api_app: App) -> None:
    document = generate_openapi(api_app)

    user_id = params_by_name(operation(document, "/users/{user_id}"))["user_id"]
    assert user_id["schema"] == {"type": "string", "format": "uuid"}


def test_query_parameters_carry_type_requiredness_and_default(api_app: App) -> None:
    document = generate_openapi(api_app)
    params = params_by_name(operation(document, "/items"))

    assert params["limit"] == {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "default": 10},
    }
    assert params["tag"]["schema"] == {"type": "array", "items": {"type": "string"}, "default": []}
    search = params_by_name(operation(document, "/search"))
    assert search["term"]["required"] is True
    assert search["color"]["schema"]["default"] == "red"
    assert search["color"]["schema"]["$ref"] == "#/components/schemas/Color"
    assert document["components"]["schemas"]["Color"]["enum"] == ["red", "blue"]


def test_a_pydantic_body_becomes_a_required_json_request_body(api_app: App) -> None:
    document = generate_openapi(api_app)
    op = operation(document, "/items", "post")

    assert op["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
    }
    item = document["components"]["schemas"]["Item"]
    assert item["required"] == ["name", "price"]
    assert item["properties"]["price"]["minimum"] == 0
    assert item["description"] == "Something for sale."
    assert {"400", "413", "415", "422"} <= set(op["responses"])


def test_the_return_annotation_is_the_success_response(api_app: App) -> None:
    document = generate_openapi(api_app)

    listed = operation(document, "/items")["responses"]["200"]
    assert listed["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Item"},
    }
    html = operation(document, "/colors/{color}")["responses"]["200"]
    assert html["content"] == {"text/html": {"schema": {"type": "string"}}}


def test_none_return_is_204_and_optional_return_adds_204(api_app: App) -> None:
    document = generate_openapi(api_app)

    assert set(operation(document, "/items/{item_id}", "delete")["responses"]) == {"204", "404"}
    assert {"200", "204", "404"} <= set(operation(document, "/items/{item_id}")["responses"])


def test_declared_success_status_takes_the_return_schema(api_app: App) -> None:
    document = generate_openapi(api_app)
    responses = operation(document, "/items", "post")["responses"]

    assert "200" not in responses
    assert responses["201"]["description"] == "Created"
    assert responses["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ItemOut"
    }
    assert responses["409"]["description"] == "Name already used"
    assert "application/problem+json" in responses["409"]["content"]


def test_a_response_return_type_documents_no_content_schema(api_app: App) -> None:
    document = generate_openapi(api_app)

    assert operation(document, "/search")["responses"]["200"] == {"description": "OK"}


def test_hidden_routes_are_left_out(api_app: App) -> None:
    OpenAPI(api_app)
    document = generate_openapi(api_app)

    assert "/internal" not in document["paths"]
    assert "/openapi.json" not in document["paths"]
    assert "/docs" not in document["paths"]


def test_scoped_routes_declare_the_api_key_security_schemes(api_app: App) -> None:
    document = generate_openapi(api_app)
    op = operation(document, "/items", "post")

    assert op["security"] == [{"APIKeyHeader": ["items:write"]}, {"BearerAuth": ["items:write"]}]
    assert {"401", "403", "429"} <= set(op["responses"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["APIKeyHeader"]["description"],
    }
    assert schemes["BearerAuth"]["scheme"] == "bearer"


def test_an_api_key_parameter_means_a_key_without_a_particular_scope(api_app: App) -> None:
    document = generate_openapi(api_app)

    assert operation(document, "/users/{user_id}")["security"] == [
        {"APIKeyHeader": []},
        {"BearerAuth": []},
    ]


def test_routes_without_keys_have_no_security(api_app: App) -> None:
    document = generate_openapi(api_app)

    assert "security" not in operation(document, "/items")


def test_summary_and_description_come_from_the_docstring(api_app: App) -> None:
    op = operation(generate_openapi(api_app), "/items")

    assert op["summary"] == "List the items."
    assert op["description"] == "Filtered by `q` and `tag`."
    assert op["operationId"] == "list_items"


def test_route_options_override_summary_and_mark_deprecated() -> None:
    app = App(settings={})

    @app.get("/old", summary="Old way", description="Use /new.", deprecated=True)
    def old() -> str:
        """Ignored."""
        return ""

    op = operation(generate_openapi(app), "/old")
    assert (op["summary"], op["description"], op["deprecated"]) == ("Old way", "Use /new.", True)


def test_tags_are_listed_and_a_named_router_tags_its_routes() -> None:
    app = App(settings={})
    router = Router(prefix="/orders", name="orders")

    @router.get("/")
    def list_orders() -> list[int]:
        return []

    app.include(router)
    document = generate_openapi(app, tags=[{"name": "orders", "description": "Orders."}])

    assert operation(document, "/orders")["tags"] == ["orders"]
    assert document["tags"] == [{"name": "orders", "description": "Orders."}]


def test_a_route_with_two_methods_gets_one_operation_id_per_method() -> None:
    app = App(settings={})

    @app.route("/thing", methods=["GET", "POST"])
    def thing() -> dict[str, int]:
        return {}

    document = generate_openapi(app)
    assert operation(document, "/thing")["operationId"] == "thing_get"
    assert operation(document, "/thing", "post")["operationId"] == "thing_post"
    assert "head" not in document["paths"]["/thing"]


def test_clashing_operation_ids_are_a_configuration_error() -> None:
    app = App(settings={})

    @app.get("/a", operation_id="same")
    def a() -> str:
        return ""

    @app.get("/b", operation_id="same")
    def b() -> str:
        return ""

    with pytest.raises(ConfigurationError, match="operationId 'same'"):
        generate_openapi(app)


def test_same_model_name_with_different_shapes_gets_distinct_schemas() -> None:
    app = App(settings={})

    @app.post("/echo")
    def echo(payload: Payload) -> Payload:
        return payload

    document = generate_openapi(app)
    validate(document)
    schemas = document["components"]["schemas"]
    assert schemas["Payload"]["properties"] == {"Value": {"title": "Value", "type": "integer"}}
    out = operation(document, "/echo", "post")["responses"]["200"]["content"]["application/json"]
    out_schema = schemas[out["schema"]["$ref"].rsplit("/", 1)[1]]
    # Handlers' results are dumped by field name, so the response schema says "value".
    assert out_schema["properties"] == {"value": {"title": "Value", "type": "integer"}}


def test_a_type_pydantic_cannot_describe_becomes_any_value() -> None:
    app = App(settings={})

    @app.get("/opaque")
    def opaque() -> Opaque:
        return Opaque()

    document = generate_openapi(app)
    validate(document)
    assert operation(document, "/opaque")["responses"]["200"]["content"] == {
        "application/json": {"schema": {}}
    }


def test_openapi_json_is_served_and_follows_new_routes(client: TestClient, app: App) -> None:
    OpenAPI(app, title="Live", version="1")

    @app.get("/first")
    def first() -> dict[str, int]:
        return {}

    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()["paths"]) == ["/first"]

    @app.get("/second")
    def second() -> dict[str, int]:
        return {}

    assert list(client.get("/openapi.json").json()["paths"]) == ["/first", "/second"]


def test_docs_page_links_its_own_assets_and_the_document(client: TestClient, app: App) -> None:
    OpenAPI(app, title="<Shop & Co>")

    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>&lt;Shop &amp; Co&gt;</title>" in page.text
    assert 'src="/docs/docs.js"' in page.text
    assert 'href="/docs/docs.css"' in page.text
    assert 'data-spec-url="/openapi.json"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN


def test_docs_assets_are_served_with_their_types(client: TestClient, app: App) -> None:
    OpenAPI(app)

    script = client.get("/docs/docs.js")
    style = client.get("/docs/docs.css")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "Try it" in script.text
    assert style.headers["content-type"] == "text/css; charset=utf-8"


def test_docs_can_be_turned_off_and_paths_moved(client: TestClient, app: App) -> None:
    OpenAPI(app, json_path="/api/schema.json", docs_path=None)

    assert client.get("/api/schema.json").status_code == 200
    assert client.get("/docs").status_code == 404


def test_under_a_mount_the_document_names_the_mount_as_its_server(app: App) -> None:
    openapi = OpenAPI(app)

    assert openapi.document("/api")["servers"] == [{"url": "/api"}]
    assert "servers" not in openapi.document("")


def test_websocket_routes_are_not_operations() -> None:
    app = App(settings={})

    @app.websocket("/ws")
    async def ws(socket: Any) -> None:
        return None

    @app.get("/page")
    def page() -> str:
        return ""

    document = generate_openapi(app)
    validate(document)
    assert list(document["paths"]) == ["/page"]
