"""Specification of trellis.routing: patterns, converters, matching, url_for and blueprints.

Unit tests drive `Router` directly; HTTP-level tests go through `client` (WSGI and ASGI).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trellis import (
    App,
    ConfigurationError,
    Converter,
    Request,
    Response,
    RouteConflictError,
    Router,
)
from trellis.testing import TestClient


def view() -> str:
    return "view"


def other_view() -> str:
    return "other view"


def params_for(router: Router, path: str, method: str = "GET") -> dict[str, Any] | None:
    """The converted params when `path` matches, else None."""
    route, params, _ = router.match(method, path)
    return params if route is not None else None


def router_with(pattern: str) -> Router:
    router = Router()
    router.add_route(pattern, view, name="target")
    return router


def allow_set(response: Any) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


# --------------------------------------------------------------------------------------------
# Static and dynamic matches
# --------------------------------------------------------------------------------------------


def test_static_path_matches_with_empty_params() -> None:
    router = router_with("/about/team")
    route, params, allowed = router.match("GET", "/about/team")
    assert route is not None and route.endpoint is view
    assert params == {}
    assert allowed == frozenset()


def test_unknown_path_matches_nothing() -> None:
    router = router_with("/about")
    assert router.match("GET", "/contact") == (None, None, frozenset())


def test_root_path_matches_only_root() -> None:
    router = router_with("/")
    assert params_for(router, "/") == {}
    assert params_for(router, "/x") is None


def test_static_match_is_exact_about_trailing_slash() -> None:
    router = router_with("/docs")
    assert params_for(router, "/docs") == {}
    assert params_for(router, "/docs/") is None


def test_dynamic_path_returns_named_params() -> None:
    router = router_with("/users/{user}/posts/{post:int}")
    assert params_for(router, "/users/ada/posts/7") == {"user": "ada", "post": 7}


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_every_parameter_count_gets_its_values_by_name(count: int) -> None:
    pattern = "".join(f"/s{i}/{{p{i}:int}}" for i in range(count))
    path = "".join(f"/s{i}/{10 + i}" for i in range(count))
    router = router_with(pattern)

    assert params_for(router, path) == {f"p{i}": 10 + i for i in range(count)}
    assert params_for(router, path + "/extra") is None


def test_served_path_param_reaches_the_handler(app: App, client: TestClient) -> None:
    @app.get("/hello/{name}")
    def hello(name: str) -> dict[str, str]:
        return {"name": name}

    response = client.get("/hello/ada")
    assert response.status_code == 200
    assert response.json() == {"name": "ada"}


def test_static_route_path_params_are_a_fresh_dict_per_request(
    app: App, client: TestClient
) -> None:
    mutated: list[dict[str, Any]] = []

    @app.get("/first")
    def first(request: Request) -> dict[str, Any]:
        request.path_params["leaked"] = "yes"
        mutated.append(request.path_params)
        return {}

    @app.get("/second")
    def second(request: Request) -> dict[str, Any]:
        return dict(request.path_params)

    try:
        client.get("/first")
        assert client.get("/second").json() == {}
    finally:
        # Undo the mutation so a shared dict cannot break later tests.
        for params in mutated:
            params.pop("leaked", None)


# --------------------------------------------------------------------------------------------
# Converters: what each accepts and refuses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["ada", "a b", "café", "日本", "1", "a.b", "..."])
def test_str_param_accepts_any_non_empty_segment(segment: str) -> None:
    assert params_for(router_with("/s/{x}"), f"/s/{segment}") == {"x": segment}


def test_str_param_refuses_empty_segment() -> None:
    assert params_for(router_with("/s/{x}"), "/s/") is None


def test_str_param_does_not_span_slashes() -> None:
    assert params_for(router_with("/s/{x}"), "/s/a/b") is None


@pytest.mark.parametrize(("segment", "value"), [("0", 0), ("42", 42), ("007", 7)])
def test_int_param_accepts_ascii_digits_as_int(segment: str, value: int) -> None:
    params = params_for(router_with("/i/{n:int}"), f"/i/{segment}")
    assert params == {"n": value}
    assert type(params["n"]) is int


@pytest.mark.parametrize(
    "segment", ["abc", "-1", "+1", "1.5", "\u0661\u0662", "²", " 1", "1e3", "0x1f"]
)
def test_int_param_refuses_non_digits(segment: str) -> None:
    assert params_for(router_with("/i/{n:int}"), f"/i/{segment}") is None


def test_int_param_mismatch_is_404_over_http(app: App, client: TestClient) -> None:
    @app.get("/users/{id:int}")
    def user(id: int) -> dict[str, Any]:
        return {"id": id, "type": type(id).__name__}

    assert client.get("/users/42").json() == {"id": 42, "type": "int"}
    missing = client.get("/users/abc")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("segment", "value"), [("2.5", 2.5), ("3", 3.0), ("0.125", 0.125)])
def test_float_param_accepts_plain_decimals(segment: str, value: float) -> None:
    params = params_for(router_with("/f/{x:float}"), f"/f/{segment}")
    assert params == {"x": value}
    assert type(params["x"]) is float


@pytest.mark.parametrize(
    "segment", ["-1.5", "1e5", "inf", "nan", "1.", ".5", "1,5", "abc", "\u0661.\u0665"]
)
def test_float_param_refuses_other_numbers(segment: str) -> None:
    assert params_for(router_with("/f/{x:float}"), f"/f/{segment}") is None


@pytest.mark.parametrize(
    "segment",
    ["12345678-1234-5678-1234-567812345678", "ABCDEF12-ABCD-ABCD-ABCD-ABCDEF123456"],
    ids=["lower", "upper"],
)
def test_uuid_param_accepts_either_case(segment: str) -> None:
    params = params_for(router_with("/u/{id:uuid}"), f"/u/{segment}")
    assert params == {"id": uuid.UUID(segment)}


@pytest.mark.parametrize(
    "segment",
    [
        "not-a-uuid",
        "12345678123456781234567812345678",
        "{12345678-1234-5678-1234-567812345678}",
        "12345678-1234-5678-1234-56781234567",
        "g2345678-1234-5678-1234-567812345678",
    ],
)
def test_uuid_param_refuses_non_canonical_text(segment: str) -> None:
    assert params_for(router_with("/u/{id:uuid}"), f"/u/{segment}") is None


@pytest.mark.parametrize("segment", ["hello-world", "post_2", "ABC", "9"])
def test_slug_param_accepts_letters_digits_hyphens_underscores(segment: str) -> None:
    assert params_for(router_with("/p/{s:slug}"), f"/p/{segment}") == {"s": segment}


@pytest.mark.parametrize("segment", ["hello world", "héllo", "a.b", "a+b", "a%20b"])
def test_slug_param_refuses_other_characters(segment: str) -> None:
    assert params_for(router_with("/p/{s:slug}"), f"/p/{segment}") is None


@pytest.mark.parametrize("rest", ["a", "a/b/c", "dir/file name.txt", "a//b", "trailing/"])
def test_path_param_takes_the_remainder_with_slashes(rest: str) -> None:
    assert params_for(router_with("/files/{p:path}"), f"/files/{rest}") == {"p": rest}


@pytest.mark.parametrize("path", ["/files/", "/files"])
def test_path_param_refuses_empty_remainder(path: str) -> None:
    assert params_for(router_with("/files/{p:path}"), path) is None


def test_path_param_at_root_takes_everything() -> None:
    assert params_for(router_with("/{p:path}"), "/a/b") == {"p": "a/b"}


# --------------------------------------------------------------------------------------------
# Priority and backtracking
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("static_first", [True, False])
def test_static_segment_beats_param(static_first: bool) -> None:
    router = Router()
    pairs = [("/users/me", other_view), ("/users/{name}", view)]
    for path, endpoint in pairs if static_first else reversed(pairs):
        router.add_route(path, endpoint)
    me, _, _ = router.match("GET", "/users/me")
    ada, params, _ = router.match("GET", "/users/ada")
    assert me is not None and me.endpoint is other_view
    assert ada is not None and ada.endpoint is view and params == {"name": "ada"}


@pytest.mark.parametrize("int_first", [True, False])
def test_int_param_beats_str_param(int_first: bool) -> None:
    router = Router()
    pairs = [("/items/{id:int}", other_view), ("/items/{name}", view)]
    for path, endpoint in pairs if int_first else reversed(pairs):
        router.add_route(path, endpoint)
    number, number_params, _ = router.match("GET", "/items/5")
    word, word_params, _ = router.match("GET", "/items/five")
    assert number is not None and number.endpoint is other_view and number_params == {"id": 5}
    assert word is not None and word.endpoint is view and word_params == {"name": "five"}


def test_static_and_params_beat_path_catchall() -> None:
    router = Router()
    router.add_route("/{p:path}", view)
    router.add_route("/docs/{page}", other_view)
    route, params, _ = router.match("GET", "/docs/intro")
    assert route is not None and route.endpoint is other_view and params == {"page": "intro"}
    assert params_for(router, "/docs/intro/more") == {"p": "docs/intro/more"}


def test_matching_backtracks_from_int_branch_to_str_branch() -> None:
    router = Router()
    router.add_route("/a/{x:int}/b", view)
    router.add_route("/a/{y}/c", other_view)
    route_c, params_c, _ = router.match("GET", "/a/1/c")
    route_b, params_b, _ = router.match("GET", "/a/1/b")
    assert route_c is not None and route_c.endpoint is other_view and params_c == {"y": "1"}
    assert route_b is not None and route_b.endpoint is view and params_b == {"x": 1}


def test_matching_backtracks_from_static_branch_to_param() -> None:
    router = Router()
    router.add_route("/a/static/b", view)
    router.add_route("/a/{x}/c", other_view)
    assert params_for(router, "/a/static/c") == {"x": "static"}


def test_backtracking_does_not_leak_values_from_failed_branch() -> None:
    router = Router()
    router.add_route("/a/{x:int}/{z:int}/b", view)
    router.add_route("/a/{y}/{w}/c", other_view)
    assert params_for(router, "/a/1/2/c") == {"y": "1", "w": "2"}


def test_priority_is_served_over_http(app: App, client: TestClient) -> None:
    @app.get("/items/{id:int}")
    def by_id(id: int) -> dict[str, Any]:
        return {"by": "id", "value": id}

    @app.get("/items/{name}")
    def by_name(name: str) -> dict[str, Any]:
        return {"by": "name", "value": name}

    @app.get("/items/new")
    def new_item() -> dict[str, Any]:
        return {"by": "static"}

    assert client.get("/items/12").json() == {"by": "id", "value": 12}
    assert client.get("/items/twelve").json() == {"by": "name", "value": "twelve"}
    assert client.get("/items/new").json() == {"by": "static"}


# --------------------------------------------------------------------------------------------
# Custom converters
# --------------------------------------------------------------------------------------------


class HexConverter(Converter):
    """Lower-case hexadecimal numbers."""

    name = "hex"
    priority = 15

    def convert(self, segment: str) -> int:
        if re.fullmatch(r"[0-9a-f]+", segment):
            return int(segment, 16)
        raise ValueError(segment)

    def to_url(self, value: Any) -> str:
        return format(value, "x")


def test_custom_converter_converts_and_refuses(app: App, client: TestClient) -> None:
    app.add_converter("hex", HexConverter())

    @app.get("/colors/{code:hex}")
    def color(code: int) -> dict[str, int]:
        return {"code": code}

    assert client.get("/colors/ff").json() == {"code": 255}
    assert client.get("/colors/zz").status_code == 404


def test_custom_converter_to_url_is_used_by_url_for(app: App) -> None:
    app.add_converter("hex", HexConverter())
    app.add_route("/colors/{code:hex}", view, name="color")
    assert app.url_for("color", code=255) == "/colors/ff"


def test_custom_converter_priority_orders_it_before_str() -> None:
    router = Router()
    router.add_converter("hex", HexConverter())
    router.add_route("/c/{name}", view)
    router.add_route("/c/{code:hex}", other_view)
    route, params, _ = router.match("GET", "/c/beef")
    assert route is not None and route.endpoint is other_view and params == {"code": 0xBEEF}


def test_add_converter_refuses_non_converter() -> None:
    with pytest.raises(ConfigurationError, match=r"must be a trellis\.routing\.Converter"):
        Router().add_converter("hex", object())  # type: ignore[arg-type]


def test_pattern_with_unregistered_custom_converter_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown converter 'hex'"):
        Router().add_route("/c/{code:hex}", view)


# --------------------------------------------------------------------------------------------
# HEAD and OPTIONS
# --------------------------------------------------------------------------------------------


def test_head_on_get_route_has_headers_and_no_body(app: App, client: TestClient) -> None:
    @app.get("/page")
    def page() -> Response:
        return Response("<p>hello</p>", headers={"x-page": "yes"}, media_type="text/html")

    get = client.get("/page")
    head = client.head("/page")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "12"
    assert head.headers["content-type"] == get.headers["content-type"] == "text/html; charset=utf-8"
    assert head.headers["x-page"] == "yes"


def test_head_is_matched_for_dynamic_get_routes() -> None:
    router = router_with("/users/{id:int}")
    route, params, _ = router.match("HEAD", "/users/3")
    assert route is not None and route.endpoint is view and params == {"id": 3}


@pytest.mark.parametrize("head_first", [True, False])
def test_explicit_head_route_wins_over_implicit_head(
    app: App, client: TestClient, head_first: bool
) -> None:
    def get_page() -> str:
        return "<p>full page</p>"

    def head_page() -> Response:
        return Response(b"", headers={"x-handler": "head"})

    registrations = [
        ("GET", get_page),
        ("HEAD", head_page),
    ]
    for method, endpoint in registrations if not head_first else reversed(registrations):
        app.add_route("/page", endpoint, (method,))

    head = client.head("/page")
    assert head.status_code == 200
    assert head.headers["x-handler"] == "head"
    assert client.get("/page").text == "<p>full page</p>"


def test_head_route_declared_twice_conflicts() -> None:
    router = Router()
    router.add_route("/page", view, ("HEAD",))
    with pytest.raises(RouteConflictError, match="HEAD '/page' is declared twice"):
        router.add_route("/page", other_view, ("HEAD",))


def test_head_on_post_only_route_is_405(app: App, client: TestClient) -> None:
    app.add_route("/submit", view, ("POST",))
    response = client.head("/submit")
    assert response.status_code == 405
    assert allow_set(response) == {"POST", "OPTIONS"}


def test_options_is_204_with_allow(app: App, client: TestClient) -> None:
    app.add_route("/things", view, ("GET", "POST"))
    response = client.options("/things")
    assert response.status_code == 204
    assert response.content == b""
    assert allow_set(response) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_options_on_dynamic_path_lists_its_methods(app: App, client: TestClient) -> None:
    app.add_route("/users/{id:int}", view, ("GET", "DELETE"))
    response = client.options("/users/3")
    assert response.status_code == 204
    assert allow_set(response) == {"DELETE", "GET", "HEAD", "OPTIONS"}


def test_explicit_options_route_wins(app: App, client: TestClient) -> None:
    @app.route("/things", methods=("OPTIONS",))
    def things_options() -> Response:
        return Response(b"", 200, {"x-custom": "1"})

    response = client.options("/things")
    assert response.status_code == 200
    assert response.headers["x-custom"] == "1"


def test_options_on_missing_path_is_404(app: App, client: TestClient) -> None:
    assert client.options("/nothing-here").status_code == 404


# --------------------------------------------------------------------------------------------
# 405 and 404
# --------------------------------------------------------------------------------------------


def test_match_reports_allowed_methods_on_method_miss() -> None:
    router = router_with("/x")
    assert router.match("POST", "/x") == (None, None, frozenset({"GET", "HEAD"}))


def test_post_to_get_only_route_is_405_with_allow(app: App, client: TestClient) -> None:
    app.add_route("/things", view, ("GET",))
    response = client.post("/things")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "OPTIONS"}
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 405
    assert body["title"] == "Method Not Allowed"
    assert "POST" in body["detail"]


def test_wrong_method_on_dynamic_route_is_405_with_allow(app: App, client: TestClient) -> None:
    app.add_route("/users/{id:int}", view, ("GET",))
    response = client.delete("/users/3")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "OPTIONS"}


def test_405_allow_lists_methods_of_static_and_dynamic_routes_on_the_path(
    app: App, client: TestClient
) -> None:
    # GET /a/b is served by the dynamic route, so Allow must say so.
    app.add_route("/a/b", view, ("POST",))
    app.add_route("/a/{x}", other_view, ("GET",))
    assert client.get("/a/b").text == "other view"
    response = client.put("/a/b")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_405_allow_lists_methods_of_every_dynamic_route_matching_the_path(
    app: App, client: TestClient
) -> None:
    app.add_route("/n/{x:int}", view, ("POST",))
    app.add_route("/n/{y}", other_view, ("GET",))
    assert client.get("/n/5").text == "other view"
    response = client.put("/n/5")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_unknown_method_on_existing_path_is_405(app: App, client: TestClient) -> None:
    app.add_route("/", view)
    response = client.request("FOO", "/")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "OPTIONS"}


def test_unknown_method_on_missing_path_is_404(app: App, client: TestClient) -> None:
    app.add_route("/", view)
    assert client.request("FOO", "/missing").status_code == 404


def test_404_is_problem_json_by_default(app: App, client: TestClient) -> None:
    response = client.get("/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert "/missing" in body["detail"]


def test_404_is_html_for_browsers(app: App, client: TestClient) -> None:
    response = client.get("/missing", headers={"accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>404 Not Found</h1>" in response.text


def test_404_html_page_escapes_the_requested_path(app: App, client: TestClient) -> None:
    response = client.get("/%3Cscript%3Ealert(1)%3C/script%3E", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text


# --------------------------------------------------------------------------------------------
# Trailing-slash redirects
# --------------------------------------------------------------------------------------------


def test_extra_trailing_slash_redirects_with_308(app: App, client: TestClient) -> None:
    app.add_route("/docs", view)
    response = client.get("/docs/")
    assert response.status_code == 308
    assert response.headers["location"] == "/docs"


def test_missing_trailing_slash_redirects_with_308(app: App, client: TestClient) -> None:
    app.add_route("/dir/", view)
    response = client.get("/dir")
    assert response.status_code == 308
    assert response.headers["location"] == "/dir/"


def test_trailing_slash_redirect_keeps_query_string(app: App, client: TestClient) -> None:
    app.add_route("/docs", view)
    response = client.get("/docs/?a=1&b=x%20y")
    assert response.status_code == 308
    assert response.headers["location"] == "/docs?a=1&b=x%20y"


def test_trailing_slash_redirect_for_post_keeps_method(app: App, client: TestClient) -> None:
    app.add_route("/form", view, ("POST",))
    response = client.post("/form/", content=b"x")
    # 308 (not 301/302) tells clients to repeat the same method and body.
    assert response.status_code == 308
    assert response.headers["location"] == "/form"


def test_trailing_slash_redirect_for_dynamic_route(app: App, client: TestClient) -> None:
    app.add_route("/users/{id:int}", view)
    response = client.get("/users/3/")
    assert response.status_code == 308
    assert response.headers["location"] == "/users/3"


def test_no_redirect_when_neither_form_exists(app: App, client: TestClient) -> None:
    app.add_route("/docs", view)
    assert client.get("/other/").status_code == 404


def test_trailing_slash_redirect_can_be_turned_off(make_client: Callable[..., TestClient]) -> None:
    app = App(settings={"REDIRECT_SLASHES": False})
    app.add_route("/docs", view)
    client = make_client(app)
    assert client.get("/docs/").status_code == 404
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("requested", "location"),
    [
        ("/files/a%20b/", "/files/a%20b"),
        ("/files/%E6%97%A5/", "/files/%E6%97%A5"),
        ("/files/a%3Fb/", "/files/a%3Fb"),
        ("/files/a%23b/", "/files/a%23b"),
        ("/files/100%25/", "/files/100%25"),
    ],
    ids=["space", "unicode", "question-mark", "hash", "percent"],
)
def test_trailing_slash_redirect_location_is_percent_encoded(
    app: App, client: TestClient, requested: str, location: str
) -> None:
    @app.get("/files/{name}")
    def file(name: str) -> dict[str, str]:
        return {"name": name}

    response = client.get(requested)
    assert response.status_code == 308
    assert response.headers["location"] == location
    assert client.get(location).json()["name"] == unquote(location.removeprefix("/files/"))


class NoTrailingSlashPath(Converter):
    """A catch-all that refuses a trailing slash (so only the slash-less form matches)."""

    name = "file"
    priority = 100
    matches_slashes = True

    def convert(self, segment: str) -> str:
        if segment.endswith("/"):
            raise ValueError(segment)
        return segment


def test_double_slash_path_never_redirects_to_another_host(app: App, client: TestClient) -> None:
    # SECURITY: "//evil.com" in a Location header is a protocol-relative URL to evil.com.
    app.add_converter("file", NoTrailingSlashPath())
    app.add_route("/{p:file}", view)
    response = client.get("http://testserver//evil.com/")
    assert response.status_code == 404
    assert "location" not in response.headers


def test_static_double_slash_route_never_redirects_to_another_host(
    app: App, client: TestClient
) -> None:
    app.add_route("//evil.com", view)
    response = client.get("http://testserver//evil.com/")
    assert response.status_code == 404
    assert "location" not in response.headers


def test_backslash_path_never_redirects_to_another_host(app: App, client: TestClient) -> None:
    # SECURITY: browsers read "/\evil.com" as "//evil.com".
    app.add_route("/{page}", view)
    response = client.get("/%5Cevil.com/")
    if response.status_code == 308:
        location = response.headers["location"]
        assert not location.startswith("/\\")
        assert not location.startswith("//")
    else:
        assert response.status_code == 404


# --------------------------------------------------------------------------------------------
# url_for
# --------------------------------------------------------------------------------------------


@pytest.fixture
def url_app(app: App) -> App:
    app.add_route("/users/{id:int}", view, name="user")
    app.add_route("/files/{filename}", view, name="file")
    app.add_route("/static/{p:path}", view, name="static")
    app.add_route("/prices/{amount:float}", view, name="price")
    app.add_route("/things/{key:uuid}", view, name="thing")
    app.add_route("/", view, name="home")
    return app


def test_url_for_builds_static_path(url_app: App) -> None:
    assert url_app.url_for("home") == "/"


def test_url_for_fills_params(url_app: App) -> None:
    assert url_app.url_for("user", id=3) == "/users/3"


def test_url_for_uses_function_name_by_default(app: App) -> None:
    @app.get("/about")
    def about_page() -> str:
        return "about"

    assert app.url_for("about_page") == "/about"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a b", "/files/a%20b"),
        ("日本", "/files/%E6%97%A5%E6%9C%AC"),
        ("a/b", "/files/a%2Fb"),
        ("a?b#c", "/files/a%3Fb%23c"),
        ("100%", "/files/100%25"),
    ],
    ids=["space", "unicode", "slash", "query-and-fragment", "percent"],
)
def test_url_for_quotes_str_param(url_app: App, value: str, expected: str) -> None:
    assert url_app.url_for("file", filename=value) == expected


def test_url_for_keeps_slashes_in_path_param(url_app: App) -> None:
    assert url_app.url_for("static", p="docs/intro page.md") == "/static/docs/intro%20page.md"


def test_url_for_formats_float_and_uuid(url_app: App) -> None:
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert url_app.url_for("price", amount=2.5) == "/prices/2.5"
    assert url_app.url_for("thing", key=key) == f"/things/{key}"


def test_url_for_extra_params_become_query_string(url_app: App) -> None:
    url = url_app.url_for("user", id=3, tab="posts", q="a b&c", tag=["x", "y"])
    assert url == "/users/3?tab=posts&q=a+b%26c&tag=x&tag=y"


def test_url_for_missing_param_names_it(url_app: App) -> None:
    with pytest.raises(ValueError, match=r"url_for\('user'\) is missing the parameter 'id'"):
        url_app.url_for("user")


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("user", {"id": "abc"}),
        ("user", {"id": -1}),
        ("user", {"id": True}),
        ("price", {"amount": "cheap"}),
        ("price", {"amount": -1.0}),
        ("thing", {"key": "not-a-uuid"}),
    ],
    ids=["int-text", "int-negative", "int-bool", "float-text", "float-negative", "uuid-text"],
)
def test_url_for_bad_value_names_route_and_param(
    url_app: App, name: str, params: dict[str, Any]
) -> None:
    (param,) = params
    with pytest.raises(ValueError) as info:
        url_app.url_for(name, **params)
    message = str(info.value)
    assert repr(name) in message
    assert repr(param) in message


@pytest.mark.parametrize(("name", "param"), [("file", "filename"), ("static", "p")])
def test_url_for_refuses_empty_param(url_app: App, name: str, param: str) -> None:
    # "/files/" or "/static/" would not match the route it was built for.
    with pytest.raises(ValueError, match=repr(param)):
        url_app.url_for(name, **{param: ""})


def test_url_for_accepts_a_param_called_name(app: App) -> None:
    app.add_route("/people/{name}", view, name="person")
    assert app.url_for("person", name="ada") == "/people/ada"


def test_request_url_for_accepts_a_param_called_name(app: App) -> None:
    app.add_route("/people/{name}", view, name="person")
    request = Request(app, "GET", "/", b"")
    assert request.url_for("person", name="ada") == "/people/ada"


def test_url_for_unknown_name_lists_known_names(url_app: App) -> None:
    with pytest.raises(ValueError, match=r"no route named 'nope'. Known names: file, home"):
        url_app.url_for("nope")


def test_request_url_for_includes_root_path(url_app: App) -> None:
    request = Request(url_app, "GET", "/", b"", root_path="/mount")
    assert request.url_for("user", id=3) == "/mount/users/3"


def _mounted_under(prefix: str, app: App) -> None:
    """Serve `app` as if a server mounted it at `prefix` (SCRIPT_NAME / root_path)."""

    def wsgi_mount(inner: Any) -> Any:
        def mounted(environ: dict[str, Any], start_response: Any) -> Any:
            environ["SCRIPT_NAME"] = prefix
            return inner(environ, start_response)

        return mounted

    def asgi_mount(inner: Any) -> Any:
        async def mounted(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope = {**scope, "root_path": prefix, "path": prefix + scope["path"]}
            await inner(scope, receive, send)

        return mounted

    app.wrap_wsgi(wsgi_mount)
    app.wrap_asgi(asgi_mount)


def test_request_url_for_includes_root_path_over_http(
    app: App, make_client: Callable[..., TestClient]
) -> None:
    @app.get("/users/{id:int}")
    def user(id: int, request: Request) -> dict[str, str]:
        return {"self": request.url_for("user", id=id)}

    _mounted_under("/mount", app)
    client = make_client(app)
    assert client.get("/users/5").json() == {"self": "/mount/users/5"}


# --------------------------------------------------------------------------------------------
# Blueprints (Router with prefix and name)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def api() -> Router:
    api = Router(prefix="/api", name="api")

    @api.get("/items")
    def list_items() -> list[int]:
        return [1, 2]

    @api.get("/items/{id:int}")
    def item(id: int) -> dict[str, int]:
        return {"id": id}

    @api.get("/")
    def index() -> str:
        return "api index"

    return api


def test_included_router_routes_are_served_under_its_prefix(
    app: App, client: TestClient, api: Router
) -> None:
    app.include(api)
    assert client.get("/api/items").json() == [1, 2]
    assert client.get("/api/items/7").json() == {"id": 7}
    assert client.get("/api").text == "api index"
    assert client.get("/items").status_code == 404


def test_included_router_route_names_are_qualified(app: App, api: Router) -> None:
    app.include(api)
    assert app.url_for("api.item", id=7) == "/api/items/7"
    assert app.url_for("api.list_items") == "/api/items"
    with pytest.raises(ValueError, match="no route named 'item'"):
        app.url_for("item", id=7)


def test_include_with_extra_prefix(app: App, client: TestClient, api: Router) -> None:
    app.include(api, prefix="/v1")
    assert client.get("/v1/api/items/7").json() == {"id": 7}
    assert app.url_for("api.item", id=7) == "/v1/api/items/7"
    assert client.get("/api/items/7").status_code == 404


def test_included_get_routes_answer_head(app: App, client: TestClient, api: Router) -> None:
    app.include(api)
    response = client.head("/api/items")
    assert response.status_code == 200
    assert response.content == b""


def test_unnamed_router_keeps_plain_route_names(app: App) -> None:
    router = Router(prefix="/admin")
    router.add_route("/stats", view, name="stats")
    app.include(router)
    assert app.url_for("stats") == "/admin/stats"


def test_router_custom_converter_works_after_include(app: App, client: TestClient) -> None:
    router = Router(prefix="/c", name="colors")
    router.add_converter("hex", HexConverter())

    @router.get("/{code:hex}")
    def color(code: int) -> dict[str, int]:
        return {"code": code}

    app.include(router)
    assert client.get("/c/ff").json() == {"code": 255}
    assert app.url_for("colors.color", code=16) == "/c/10"


def test_include_detects_conflict_with_existing_route(app: App, api: Router) -> None:
    @app.get("/api/items")
    def app_items() -> str:
        return "app"

    with pytest.raises(RouteConflictError, match="app_items"):
        app.include(api)


def test_including_two_routers_with_overlapping_routes_conflicts(app: App) -> None:
    first = Router(prefix="/x", name="first")
    second = Router(prefix="/x", name="second")
    first.add_route("/{id:int}", view)
    second.add_route("/{n:int}", other_view)
    app.include(first)
    with pytest.raises(RouteConflictError):
        app.include(second)


@pytest.mark.parametrize("prefix", ["api", "/api/"])
def test_router_prefix_must_start_and_not_end_with_slash(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="must start with '/' and not end with '/'"):
        Router(prefix=prefix)


# --------------------------------------------------------------------------------------------
# Conflicts and bad patterns at registration
# --------------------------------------------------------------------------------------------


def first_handler() -> str:
    return "first"


def second_handler() -> str:
    return "second"


def test_same_method_and_path_conflicts_naming_both_handlers() -> None:
    router = Router()
    router.add_route("/x", first_handler)
    with pytest.raises(RouteConflictError) as info:
        router.add_route("/x", second_handler)
    message = str(info.value)
    assert "first_handler" in message
    assert "second_handler" in message
    assert "'/x'" in message


def test_route_conflict_error_is_a_configuration_error() -> None:
    assert issubclass(RouteConflictError, ConfigurationError)


def test_same_path_with_different_methods_is_fine(app: App, client: TestClient) -> None:
    app.add_route("/x", first_handler, ("GET",))
    app.add_route("/x", second_handler, ("POST",))
    assert client.get("/x").text == "first"
    assert client.post("/x").text == "second"


def test_params_with_different_names_at_same_position_conflict() -> None:
    router = Router()
    router.add_route("/u/{a}", first_handler)
    with pytest.raises(RouteConflictError, match="first_handler"):
        router.add_route("/u/{b}", second_handler)


def test_params_with_different_converters_do_not_conflict() -> None:
    router = Router()
    router.add_route("/u/{a:int}", first_handler)
    router.add_route("/u/{b}", second_handler)
    assert params_for(router, "/u/1") == {"a": 1}
    assert params_for(router, "/u/x") == {"b": "x"}


def test_conflicting_registration_leaves_first_route_in_place() -> None:
    router = Router()
    router.add_route("/u/{a}", first_handler)
    with pytest.raises(RouteConflictError):
        router.add_route("/u/{b}", second_handler)
    route, params, _ = router.match("GET", "/u/z")
    assert route is not None and route.endpoint is first_handler and params == {"a": "z"}
    assert [r.endpoint for r in router.routes] == [first_handler]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("no-slash", "must start with '/'"),
        ("", "must start with '/'"),
        ("/a/{x", "segment '{x' is not valid"),
        ("/a/b{x}", "segment 'b{x}' is not valid"),
        ("/a/{x}b", "segment '{x}b' is not valid"),
        ("/a/{}", "segment '{}' is not valid"),
        ("/a/{1x}", "segment '{1x}' is not valid"),
        ("/a/x}", "segment 'x}' is not valid"),
        ("/a/{x:nope}", "unknown converter 'nope'"),
        ("/a/{p:path}/b", "must be the last segment"),
        ("/a/{x}/{x:int}", "uses the parameter 'x' twice"),
    ],
)
def test_bad_pattern_is_a_configuration_error(pattern: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)) as info:
        Router().add_route(pattern, view)
    assert repr(pattern) in str(info.value)


def test_duplicate_route_name_for_different_functions_is_an_error() -> None:
    router = Router()
    router.add_route("/a", first_handler, name="page")
    with pytest.raises(ConfigurationError, match="Route name 'page' is already used by '/a'"):
        router.add_route("/b", second_handler, name="page")


def test_same_function_on_two_paths_is_allowed() -> None:
    router = Router()
    router.add_route("/a", view)
    router.add_route("/b", view)
    assert params_for(router, "/a") == {}
    assert params_for(router, "/b") == {}


@pytest.mark.parametrize("methods", [(), ("GE T",), ("GET1",)])
def test_bad_methods_are_refused(methods: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError, match="'/x'"):
        Router().add_route("/x", view, methods)


# --------------------------------------------------------------------------------------------
# Percent-encoded and hostile paths
# --------------------------------------------------------------------------------------------


@pytest.fixture
def files_app(app: App) -> App:
    @app.get("/files/{name}")
    def file(name: str) -> dict[str, str]:
        return {"name": name}

    @app.get("/static/{p:path}")
    def static(p: str) -> dict[str, str]:
        return {"p": p}

    @app.get("/secret")
    def secret() -> str:
        return "top secret"

    return app


@pytest.mark.parametrize(
    ("requested", "name"),
    [("/files/a%20b", "a b"), ("/files/caf%C3%A9", "café"), ("/files/%41", "A")],
)
def test_percent_encoded_segment_is_decoded(
    files_app: App, client: TestClient, requested: str, name: str
) -> None:
    assert client.get(requested).json() == {"name": name}


def test_encoded_dot_dot_does_not_escape_a_segment(files_app: App, client: TestClient) -> None:
    response = client.get("/files/%2e%2e/secret")
    assert response.status_code == 404
    assert "top secret" not in response.text


def test_encoded_dot_dot_in_path_param_is_passed_literally(
    files_app: App, client: TestClient
) -> None:
    response = client.get("/static/%2e%2e/secret")
    assert response.status_code == 200
    assert response.json() == {"p": "../secret"}


@pytest.mark.parametrize(
    "requested",
    ["/files/%ff", "/files/a%c3%28", "/files/%ed%a0%80", "/nowhere/%ff", "/%ff"],
    ids=["ff", "bad-continuation", "surrogate", "unrouted", "root"],
)
def test_invalid_utf8_in_path_is_client_error(
    files_app: App, client: TestClient, requested: str
) -> None:
    response = client.get(requested)
    assert response.status_code in (400, 404)


# --------------------------------------------------------------------------------------------
# Property: url_for and match round-trip
# --------------------------------------------------------------------------------------------

_ROUND_TRIP = Router()
_ROUND_TRIP.add_route("/items/{x}", view, name="item")
_ROUND_TRIP.add_route("/files/{p:path}", other_view, name="file")

_TEXT = st.characters(exclude_categories=("Cs",))


def _round_trip(name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    # A server percent-decodes the path before the router sees it.
    path = _ROUND_TRIP.url_path_for(name, params)
    return params_for(_ROUND_TRIP, unquote(path, errors="strict"))


@given(st.text(_TEXT.filter(lambda c: c != "/"), min_size=1))
def test_url_for_round_trips_str_param(value: str) -> None:
    assert _round_trip("item", {"x": value}) == {"x": value}


@given(st.text(_TEXT, min_size=1))
def test_url_for_round_trips_path_param(value: str) -> None:
    assert _round_trip("file", {"p": value}) == {"p": value}


# -- the fast first-choice path agrees with the full depth-first walk --------------------------

_SEGMENTS = ["a", "b", "7", "x7", ""]
_PATTERN_SEGMENTS = ["a", "b", "{p}", "{n:int}", "{r:path}"]


def _reference_match(router: Router, method: str, path: str) -> tuple[Any, Any]:
    # The depth-first walk alone (what match() did before its first-choice fast path).
    leaf = router._static.get(path)
    if leaf is not None and method in leaf:
        return leaf[method], {}
    values: list[Any] = []
    parts = path[1:].split("/") if path != "/" else []
    route = router._walk(router._root, parts, 0, method, values, set())
    if route is None:
        return None, None
    return route, dict(zip(route.param_names, values, strict=True))


@given(
    patterns=st.lists(
        st.lists(st.sampled_from(_PATTERN_SEGMENTS), min_size=1, max_size=3),
        min_size=1,
        max_size=8,
    ),
    paths=st.lists(st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=4), max_size=10),
)
def test_match_finds_the_same_route_as_the_depth_first_walk(
    patterns: list[list[str]], paths: list[list[str]]
) -> None:
    router = Router()
    for index, segments in enumerate(patterns):
        if "{r:path}" in segments[:-1]:
            continue  # a {x:path} parameter must be last
        names = iter(f"v{i}" for i in range(10))
        pattern = "/" + "/".join(
            s.replace("{p}", "{" + next(names) + "}")
            .replace("{n:", "{" + next(names) + ":")
            .replace("{r:", "{" + next(names) + ":")
            if s.startswith("{")
            else s
            for s in segments
        )

        def endpoint() -> None:
            return None

        try:
            router.add_route(pattern, endpoint, ("GET",), name=f"r{index}")
        except ConfigurationError:
            continue  # conflicts and duplicate names are not what this test is about
    for segments in paths:
        path = "/" + "/".join(segments)
        route, params, _ = router.match("GET", path)
        assert (route, params) == _reference_match(router, "GET", path)
