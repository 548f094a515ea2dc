"""Specification of content negotiation over HTTP: one handler's data in the format asked for.

Every test runs under WSGI and ASGI (the `make_client` fixture).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from trellis import App, Renderer, Request
from trellis.formats import load_xml
from trellis.testing import TestClient

JSON = "application/json"
YAML = "application/yaml"
XML = "application/xml"
CSV = "text/csv"
HTML = "text/html"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"

BOOKS = [
    {"title": "Dune", "year": 1965, "author": "<script>alert('x')</script>"},
    {"title": "Emma", "year": 1815, "author": 'Jane "J" Austen'},
]


class Book(pydantic.BaseModel):
    title: str
    year: int


@dataclasses.dataclass
class Shelf:
    name: str
    size: int


@pytest.fixture
def books_app(tmp_path: Path) -> App:
    (tmp_path / "books.html").write_text(
        "<ul>{% for book in data %}<li>{{ book.title }} by {{ book.author }}</li>{% endfor %}</ul>"
    )
    app = App(settings={"TEMPLATES_DIR": str(tmp_path)})

    @app.get("/books", template="books.html")
    def books() -> list[dict[str, Any]]:
        return BOOKS

    @app.get("/plain")
    def plain() -> dict[str, Any]:
        return {"title": "Dune", "year": 1965}

    return app


@pytest.fixture
def books(books_app: App, make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(books_app)


def media_type(response: Any) -> str:
    return str(response.headers["content-type"]).partition(";")[0]


def parse(response: Any) -> Any:
    """The body parsed back from the format it claims to be."""
    kind = media_type(response)
    if kind == JSON:
        return json.loads(response.text)
    if kind == YAML:
        return yaml.safe_load(response.text)
    if kind == XML:
        return load_xml(response.content)
    if kind == CSV:
        return list(csv.DictReader(io.StringIO(response.text, newline="")))
    return response.text


# -- the matrix: every format x every Accept shape ---------------------------------------------

ACCEPT_MATRIX = [
    # exact types and the aliases clients send
    ("application/json", JSON),
    ("application/yaml", YAML),
    ("application/x-yaml", YAML),
    ("text/yaml", YAML),
    ("application/xml", XML),
    ("text/xml", XML),
    ("text/csv", CSV),
    ("text/html", HTML),
    # no header, wildcards
    (None, JSON),
    ("*/*", JSON),
    ("application/*", JSON),
    ("text/*", HTML),
    # q-values
    ("application/json;q=0.1, application/yaml", YAML),
    ("application/xml;q=0.9, application/json;q=0.5", XML),
    ("text/csv;q=0.9, application/json;q=0.5", CSV),
    ("text/html;q=0.2, text/csv", CSV),
    ("application/yaml;q=0, */*", JSON),
    (BROWSER, HTML),
    # garbage: no media range at all counts as no header
    ("garbage", JSON),
    (";;;,", JSON),
]


@pytest.mark.parametrize(("accept", "expected"), ACCEPT_MATRIX)
def test_accept_header_picks_the_format(
    books: TestClient, accept: str | None, expected: str
) -> None:
    response = books.get("/books", headers={"accept": accept} if accept else {})

    assert response.status_code == 200
    assert media_type(response) == expected


@pytest.mark.parametrize("kind", [JSON, YAML, XML, CSV])
def test_each_format_round_trips_the_data(books: TestClient, kind: str) -> None:
    response = books.get("/books", headers={"accept": kind})

    expected: Any = BOOKS
    if kind in (XML, CSV):  # text-only formats: values come back as strings
        expected = [{k: str(v) for k, v in book.items()} for book in BOOKS]
    assert parse(response) == expected


def test_html_renders_the_routes_template_with_the_data_escaped(books: TestClient) -> None:
    response = books.get("/books", headers={"accept": HTML})

    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in response.text
    assert "Jane &#34;J&#34; Austen" in response.text


@pytest.mark.parametrize(
    "accept", ["image/png", "application/json;q=0", "text/html;q=0, application/*;q=0"]
)
def test_nothing_acceptable_is_406_naming_the_formats(books: TestClient, accept: str) -> None:
    response = books.get("/books", headers={"accept": accept})

    assert response.status_code == 406
    assert "application/json" in response.json()["detail"]


def test_html_is_not_offered_without_a_template(books: TestClient) -> None:
    assert books.get("/plain", headers={"accept": HTML}).status_code == 406
    assert media_type(books.get("/plain", headers={"accept": BROWSER})) == JSON


def test_csv_is_offered_only_for_tabular_data(books: TestClient) -> None:
    assert books.get("/plain", headers={"accept": CSV}).status_code == 406


def test_text_formats_carry_a_charset_and_json_does_not(books: TestClient) -> None:
    assert books.get("/books").headers["content-type"] == "application/json"
    yaml_type = books.get("/books", headers={"accept": YAML}).headers["content-type"]
    assert yaml_type == "application/yaml; charset=utf-8"
    assert books.get("/books", headers={"accept": CSV}).headers["content-type"] == (
        "text/csv; charset=utf-8"
    )


@pytest.mark.parametrize("accept", [None, "*/*", JSON, YAML])
def test_negotiated_responses_vary_on_accept(books: TestClient, accept: str | None) -> None:
    response = books.get("/plain", headers={"accept": accept} if accept else {})

    assert response.headers["vary"] == "accept"


# -- what handlers return ---------------------------------------------------------------------


def test_models_dataclasses_and_lists_of_models_are_negotiated(
    app: App, client: TestClient
) -> None:
    @app.get("/model")
    def model() -> Book:
        return Book(title="Dune", year=1965)

    @app.get("/models")
    def models() -> list[Book]:
        return [Book(title="Dune", year=1965), Book(title="Emma", year=1815)]

    @app.get("/dataclass")
    def shelf() -> Shelf:
        return Shelf(name="sf", size=3)

    assert yaml.safe_load(client.get("/model", headers={"accept": YAML}).text) == {
        "title": "Dune",
        "year": 1965,
    }
    rows = parse(client.get("/models", headers={"accept": CSV}))
    assert rows == [{"title": "Dune", "year": "1965"}, {"title": "Emma", "year": "1815"}]
    assert load_xml(client.get("/dataclass", headers={"accept": XML}).content) == {
        "name": "sf",
        "size": "3",
    }
    assert client.get("/model").json() == {"title": "Dune", "year": 1965}


def test_a_status_tuple_keeps_its_status_when_negotiated(app: App, client: TestClient) -> None:
    @app.post("/items")
    def create() -> tuple[dict[str, int], int]:
        return {"id": 1}, 201

    response = client.post("/items", headers={"accept": YAML})

    assert response.status_code == 201
    assert yaml.safe_load(response.text) == {"id": 1}


# -- per-route formats and pluggable renderers ------------------------------------------------


def test_produces_restricts_a_route_to_its_formats(app: App, client: TestClient) -> None:
    @app.get("/report", produces=["text/csv", "json"])
    def report() -> list[dict[str, int]]:
        return [{"a": 1}]

    assert media_type(client.get("/report")) == CSV
    assert media_type(client.get("/report", headers={"accept": JSON})) == JSON
    assert client.get("/report", headers={"accept": YAML}).status_code == 406


class PlainTextRenderer(Renderer):
    media_type = "text/plain"
    format = "text"

    def render(self, data: Any, request: Request) -> str:
        return "; ".join(f"{k}={v}" for k, v in data.items())


def test_an_opt_in_renderer_is_used_only_where_a_route_names_it(
    app: App, client: TestClient
) -> None:
    app.renderers.add(PlainTextRenderer(), default=False)

    @app.get("/with", produces=["json", "text/plain"])
    def with_text() -> dict[str, int]:
        return {"a": 1, "b": 2}

    @app.get("/without")
    def without_text() -> dict[str, int]:
        return {"a": 1}

    response = client.get("/with", headers={"accept": "text/plain"})
    assert response.text == "a=1; b=2"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.get("/without", headers={"accept": "text/plain"}).status_code == 406


def test_a_default_renderer_added_to_the_app_serves_every_route(
    app: App, client: TestClient
) -> None:
    app.renderers.add(PlainTextRenderer())

    @app.get("/x")
    def x() -> dict[str, int]:
        return {"a": 1}

    assert client.get("/x", headers={"accept": "text/plain"}).text == "a=1"
    assert client.get("/x").json() == {"a": 1}


def test_replacing_the_json_renderer_takes_effect_on_the_fast_path(
    app: App, client: TestClient
) -> None:
    class SortedJSON(Renderer):
        media_type = JSON
        format = "json"

        def render(self, data: Any, request: Request) -> str:
            return json.dumps(data, sort_keys=True, indent=1)

    app.renderers.add(SortedJSON())

    @app.get("/x")
    def x() -> dict[str, int]:
        return {"b": 1, "a": 2}

    assert client.get("/x").text == '{\n "a": 2,\n "b": 1\n}'


def test_produces_naming_an_unknown_format_is_a_clear_error(app: App) -> None:
    @app.get("/x", produces=["application/msgpack"])
    def x() -> dict[str, int]:
        return {}

    request = Request(app, "GET", "/x", b"")
    request.route = app.match("GET", "/x")[0]
    with pytest.raises(Exception, match="no renderer handles"):
        app.renderers.for_route(request.route)


def test_format_query_parameter_is_off_by_default(books: TestClient) -> None:
    assert media_type(books.get("/books?format=yaml")) == JSON


def test_format_query_parameter_overrides_accept_when_enabled(
    make_client: Callable[..., TestClient],
) -> None:
    app = App(settings={"FORMAT_PARAM": "format"})

    @app.get("/x")
    def x() -> list[dict[str, int]]:
        return [{"a": 1}]

    client = make_client(app)
    assert media_type(client.get("/x?format=yaml", headers={"accept": JSON})) == YAML
    assert media_type(client.get("/x?format=csv")) == CSV
    assert media_type(client.get("/x")) == JSON
    response = client.get("/x?format=pdf")
    assert response.status_code == 406
    assert "json, yaml, xml, csv" in response.json()["detail"]


# -- reading bodies in the same formats --------------------------------------------------------


@pytest.fixture
def echo_client(app: App, client: TestClient) -> TestClient:
    @app.post("/books")
    def create(book: Book) -> dict[str, Any]:
        return {"created": book.model_dump()}

    return client


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"title": "Dune", "year": 1965}'),
        ("application/yaml", b"title: Dune\nyear: 1965\n"),
        ("application/x-yaml", b"title: Dune\nyear: 1965\n"),
        ("text/yaml; charset=utf-8", b"title: Dune\nyear: 1965\n"),
        ("application/xml", b"<book><title>Dune</title><year>1965</year></book>"),
        ("text/xml", b"<book><title>Dune</title><year>1965</year></book>"),
        ("application/atom+xml", b"<book><title>Dune</title><year>1965</year></book>"),
        ("application/x-www-form-urlencoded", b"title=Dune&year=1965"),
    ],
)
def test_typed_body_reads_every_supported_format(
    echo_client: TestClient, content_type: str, body: bytes
) -> None:
    response = echo_client.post("/books", content=body, headers={"content-type": content_type})

    assert response.status_code == 200, response.text
    assert response.json() == {"created": {"title": "Dune", "year": 1965}}


@pytest.mark.parametrize("kind", [JSON, YAML, XML])
def test_what_a_format_renders_it_also_reads(app: App, client: TestClient, kind: str) -> None:
    @app.get("/book")
    def show() -> Book:
        return Book(title="Dune", year=1965)

    @app.post("/book")
    def store(book: Book) -> Book:
        return book

    rendered = client.get("/book", headers={"accept": kind})
    echoed = client.post("/book", content=rendered.content, headers={"content-type": kind})

    assert echoed.json() == {"title": "Dune", "year": 1965}


@pytest.mark.parametrize("content_type", ["text/plain", "application/msgpack", "image/png"])
def test_unsupported_body_type_is_415(echo_client: TestClient, content_type: str) -> None:
    response = echo_client.post("/books", content=b"x", headers={"content-type": content_type})

    assert response.status_code == 415
    assert "application/yaml" in response.json()["detail"]


def test_yaml_body_with_a_python_tag_is_400(echo_client: TestClient) -> None:
    body = b"!!python/object/apply:os.system ['touch /tmp/pwned']"

    response = echo_client.post("/books", content=body, headers={"content-type": YAML})

    assert response.status_code == 400


def test_xml_body_with_entity_expansion_is_400(echo_client: TestClient) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><book><title>&b;</title></book>'
    )

    response = echo_client.post("/books", content=body, headers={"content-type": XML})

    assert response.status_code == 400
    assert "refused" in response.json()["detail"]


def test_xml_body_with_an_external_entity_is_400(echo_client: TestClient) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<book><title>&x;</title><year>1</year></book>"
    )

    response = echo_client.post("/books", content=body, headers={"content-type": XML})

    assert response.status_code == 400
    assert "root:" not in response.text


def test_yaml_body_nested_past_the_depth_limit_is_400(echo_client: TestClient) -> None:
    body = b"a: " + b"[" * 100 + b"]" * 100

    response = echo_client.post("/books", content=body, headers={"content-type": YAML})

    assert response.status_code == 400


def test_empty_yaml_body_is_400(echo_client: TestClient) -> None:
    response = echo_client.post("/books", content=b"", headers={"content-type": YAML})

    assert response.status_code == 400


def test_yaml_body_that_fails_validation_is_422(echo_client: TestClient) -> None:
    response = echo_client.post(
        "/books", content=b"title: Dune\nyear: soon\n", headers={"content-type": YAML}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "year"


def test_html_template_sees_a_models_fields_by_name(
    tmp_path: Path, make_client: Callable[..., TestClient]
) -> None:
    (tmp_path / "book.html").write_text("{{ title }} ({{ year }}) {{ data.title }}")
    app = App(settings={"TEMPLATES_DIR": str(tmp_path)})

    @app.get("/book", template="book.html")
    def book() -> Book:
        return Book(title="Dune", year=1965)

    @app.get("/shelf", template="book.html")
    def shelf() -> Shelf:
        return Shelf(name="sf", size=3)

    client = make_client(app)
    assert client.get("/book", headers={"accept": HTML}).text == "Dune (1965) Dune"
    assert client.get("/shelf", headers={"accept": HTML}).text == " () "


def test_repeated_accept_headers_are_read_together(books: TestClient) -> None:
    response = books.get(
        "/books", headers=[("accept", "text/csv;q=0.1"), ("accept", "application/yaml")]
    )

    assert media_type(response) == YAML


def test_accept_after_a_body_header_is_still_read(app: App, client: TestClient) -> None:
    @app.post("/echo")
    def echo(book: Book) -> Book:
        return book

    response = client.post(
        "/echo",
        content=b'{"title": "Dune", "year": 1965}',
        headers=[("content-type", JSON), ("content-length", "31"), ("accept", YAML)],
    )

    assert yaml.safe_load(response.text) == {"title": "Dune", "year": 1965}
