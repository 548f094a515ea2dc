"""Request over HTTP: what a handler sees of the method, URL, query, headers, cookies, addresses,
body, JSON and forms, and how hostile input is refused (4xx, never a 500). Every test runs under
WSGI and ASGI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from trellis import App, Request, UploadFile
from trellis.testing import TestClient

ClientFactory = Callable[..., TestClient]

# The TestClient reports this peer address under both transports.
TEST_PEER = ["127.0.0.1", 123]


@pytest.fixture
def proxied_client(make_client: ClientFactory) -> TestClient:
    """A client for an app that trusts the test client's own address as a reverse proxy."""
    app = App(settings={"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    add_echo_where(app)
    return make_client(app)


def add_echo_where(app: App) -> None:
    """GET /where answers the client address, scheme, host and URL the request reports."""

    @app.get("/where")
    def where(request: Request) -> dict[str, Any]:
        client = request.client
        return {
            "client": list(client) if client else None,
            "scheme": request.scheme,
            "host": request.host,
            "url": request.url,
        }


def add_query_echo(app: App) -> None:
    @app.get("/query")
    def query(request: Request) -> dict[str, Any]:
        return {key: request.query.getlist(key) for key in request.query}


# -- method, path, URL ---------------------------------------------------------------------------


def test_handler_sees_method_and_path(app: App, client: TestClient) -> None:
    @app.route("/items/new", ("PUT",))
    def put(request: Request) -> dict[str, str]:
        return {"method": request.method, "path": request.path}

    response = client.put("/items/new")

    assert response.status_code == 200
    assert response.json() == {"method": "PUT", "path": "/items/new"}


def test_url_includes_scheme_host_path_and_query(app: App, client: TestClient) -> None:
    add_echo_where(app)

    response = client.get("/where?a=1&b=two")

    assert response.json()["url"] == "http://testserver/where?a=1&b=two"


def test_url_percent_encodes_the_decoded_path(app: App, client: TestClient) -> None:
    @app.get("/files/{name}")
    def file(request: Request, name: str) -> dict[str, str]:
        return {"path": request.path, "url": request.url}

    response = client.get("/files/a%20b%C3%A9")

    assert response.json() == {
        "path": "/files/a bé",
        "url": "http://testserver/files/a%20b%C3%A9",
    }


def test_host_and_scheme_come_from_the_request(app: App, client: TestClient) -> None:
    add_echo_where(app)

    body = client.get("/where").json()

    assert (body["scheme"], body["host"]) == ("http", "testserver")


def test_scheme_is_https_for_an_https_request(app: App, make_client: ClientFactory) -> None:
    add_echo_where(app)
    client = make_client(app, base_url="https://testserver")

    body = client.get("/where").json()

    assert body["scheme"] == "https"
    assert body["url"] == "https://testserver/where"


def test_host_keeps_a_non_default_port(app: App, make_client: ClientFactory) -> None:
    add_echo_where(app)
    client = make_client(app, base_url="http://example.test:8080")

    assert client.get("/where").json()["host"] == "example.test:8080"


# -- query string --------------------------------------------------------------------------------


def test_query_keeps_every_value_of_a_repeated_name(app: App, client: TestClient) -> None:
    add_query_echo(app)

    response = client.get("/query?tag=a&tag=b&x=1&tag=c")

    assert response.json() == {"tag": ["a", "b", "c"], "x": ["1"]}


def test_query_keeps_blank_values(app: App, client: TestClient) -> None:
    add_query_echo(app)

    response = client.get("/query?empty=&flag")

    assert response.json() == {"empty": [""], "flag": [""]}


def test_query_decodes_percent_escapes_and_plus(app: App, client: TestClient) -> None:
    add_query_echo(app)

    response = client.get("/query?q=caf%C3%A9+au+lait&amp=%26")

    assert response.json() == {"q": ["café au lait"], "amp": ["&"]}


def test_query_first_value_wins_for_plain_lookup(app: App, client: TestClient) -> None:
    @app.get("/first")
    def first(request: Request) -> dict[str, Any]:
        return {"tag": request.query["tag"], "missing": request.query.get("nope", "dflt")}

    response = client.get("/first?tag=a&tag=b")

    assert response.json() == {"tag": "a", "missing": "dflt"}


def test_typed_query_getter_converts_good_input(app: App, client: TestClient) -> None:
    @app.get("/n")
    def n(request: Request) -> dict[str, Any]:
        return {"n": request.query.get("n", -1, type=int)}

    assert client.get("/n?n=42").json() == {"n": 42}


def test_typed_query_getter_returns_default_on_bad_input(app: App, client: TestClient) -> None:
    @app.get("/n")
    def n(request: Request) -> dict[str, Any]:
        return {"n": request.query.get("n", -1, type=int)}

    response = client.get("/n?n=forty-two")

    assert response.status_code == 200
    assert response.json() == {"n": -1}


def test_typed_query_getlist_drops_values_that_do_not_convert(app: App, client: TestClient) -> None:
    @app.get("/ids")
    def ids(request: Request) -> dict[str, Any]:
        return {"ids": request.query.getlist("id", type=int)}

    assert client.get("/ids?id=1&id=x&id=3").json() == {"ids": [1, 3]}


def test_query_with_invalid_utf8_is_400(app: App, client: TestClient) -> None:
    add_query_echo(app)

    response = client.get("/query?q=%FF%FE")

    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


def test_query_with_more_params_than_the_limit_is_413(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_QUERY_PARAMS": 5})
    add_query_echo(app)
    client = make_client(app)

    response = client.get("/query?" + "&".join(f"p{i}=1" for i in range(6)))

    assert response.status_code == 413
    assert "5" in response.json()["detail"]


def test_query_at_the_param_limit_is_accepted(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_QUERY_PARAMS": 5})
    add_query_echo(app)
    client = make_client(app)

    response = client.get("/query?" + "&".join(f"p{i}=1" for i in range(5)))

    assert response.status_code == 200
    assert len(response.json()) == 5


def test_default_query_param_limit_is_enforced(app: App, client: TestClient) -> None:
    add_query_echo(app)

    response = client.get("/query?" + "&".join(["p=1"] * 1001))

    assert response.status_code == 413


# -- headers -------------------------------------------------------------------------------------


def test_headers_are_case_insensitive(app: App, client: TestClient) -> None:
    @app.get("/h")
    def h(request: Request) -> dict[str, Any]:
        return {
            "lower": request.headers.get("x-thing"),
            "mixed": request.headers["X-Thing"],
            "in": "X-THING" in request.headers,
        }

    response = client.get("/h", headers={"X-Thing": "yes"})

    assert response.json() == {"lower": "yes", "mixed": "yes", "in": True}


def test_repeated_header_keeps_every_value(app: App, client: TestClient) -> None:
    @app.get("/h")
    def h(request: Request) -> dict[str, Any]:
        # A WSGI server joins repeated headers with ", "; ASGI keeps them apart.
        values = [
            v.strip() for value in request.headers.getlist("x-multi") for v in value.split(",")
        ]
        return {"values": values}

    response = client.get("/h", headers=[("X-Multi", "one"), ("X-Multi", "two")])

    assert response.json() == {"values": ["one", "two"]}


def test_content_type_is_the_bare_lower_case_media_type(app: App, client: TestClient) -> None:
    @app.post("/ct")
    def ct(request: Request) -> dict[str, str]:
        return {"content_type": request.content_type}

    response = client.post(
        "/ct", content=b"x", headers={"Content-Type": "Text/Plain; charset=UTF-8"}
    )

    assert response.json() == {"content_type": "text/plain"}


# -- cookies -------------------------------------------------------------------------------------


def add_cookie_echo(app: App) -> None:
    @app.get("/cookies")
    def cookies(request: Request) -> dict[str, str]:
        return request.cookies


def test_cookies_are_parsed_into_a_dict(app: App, client: TestClient) -> None:
    add_cookie_echo(app)

    response = client.get("/cookies", headers={"Cookie": "a=1; b=two"})

    assert response.json() == {"a": "1", "b": "two"}


def test_quoted_cookie_value_is_unquoted(app: App, client: TestClient) -> None:
    add_cookie_echo(app)

    response = client.get("/cookies", headers={"Cookie": r'q="a\073 b \"c\""'})

    assert response.json() == {"q": 'a; b "c"'}


def test_repeated_cookie_name_first_value_wins(app: App, client: TestClient) -> None:
    add_cookie_echo(app)

    response = client.get("/cookies", headers={"Cookie": "a=first; b=2; a=second"})

    assert response.json() == {"a": "first", "b": "2"}


def test_malformed_cookie_pieces_are_ignored(app: App, client: TestClient) -> None:
    add_cookie_echo(app)

    response = client.get("/cookies", headers={"Cookie": "junk; =nameless; ;; ok=1; also=; x"})

    assert response.status_code == 200
    assert response.json() == {"ok": "1", "also": ""}


def test_no_cookie_header_means_no_cookies(app: App, client: TestClient) -> None:
    add_cookie_echo(app)

    assert client.get("/cookies").json() == {}


# -- client address and proxies ------------------------------------------------------------------


def test_client_is_the_peer_address(app: App, client: TestClient) -> None:
    add_echo_where(app)

    assert client.get("/where").json()["client"] == TEST_PEER


def test_forwarded_headers_are_ignored_without_trusted_proxies(
    app: App, client: TestClient
) -> None:
    add_echo_where(app)

    body = client.get(
        "/where",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
        },
    ).json()

    assert body["client"] == TEST_PEER
    assert body["scheme"] == "http"
    assert body["host"] == "testserver"


def test_forwarded_headers_are_ignored_when_the_peer_is_not_trusted(
    make_client: ClientFactory,
) -> None:
    app = App(settings={"TRUSTED_PROXIES": "10.0.0.1"})
    add_echo_where(app)
    client = make_client(app)

    body = client.get(
        "/where",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
        },
    ).json()

    assert body["client"] == TEST_PEER
    assert (body["scheme"], body["host"]) == ("http", "testserver")


def test_forwarded_for_from_a_trusted_proxy_gives_the_client(proxied_client: TestClient) -> None:
    body = proxied_client.get("/where", headers={"X-Forwarded-For": "203.0.113.9"}).json()

    assert body["client"][0] == "203.0.113.9"


def test_right_most_untrusted_forwarded_hop_wins(proxied_client: TestClient) -> None:
    # The client sent its own (spoofable) X-Forwarded-For; the proxies appended the real hops.
    body = proxied_client.get(
        "/where", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.7"}
    ).json()

    assert body["client"][0] == "203.0.113.9"


def test_spoofed_left_most_forwarded_hop_is_ignored(proxied_client: TestClient) -> None:
    body = proxied_client.get(
        "/where", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}
    ).json()

    assert body["client"][0] == "203.0.113.9"


def test_forwarded_for_split_over_several_headers_is_read_in_order(
    proxied_client: TestClient,
) -> None:
    body = proxied_client.get(
        "/where",
        headers=[("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "203.0.113.9")],
    ).json()

    assert body["client"][0] == "203.0.113.9"


def test_forwarded_proto_and_host_from_a_trusted_proxy_are_used(
    proxied_client: TestClient,
) -> None:
    body = proxied_client.get(
        "/where?x=1",
        headers={"X-Forwarded-Proto": "HTTPS", "X-Forwarded-Host": "www.example.com"},
    ).json()

    assert (body["scheme"], body["host"]) == ("https", "www.example.com")
    assert body["url"] == "https://www.example.com/where?x=1"


# -- body and JSON -------------------------------------------------------------------------------


def add_body_echo(app: App) -> None:
    @app.post("/body")
    def body(request: Request) -> bytes:
        return request.body()


def add_json_echo(app: App) -> None:
    @app.post("/json")
    def json_echo(request: Request) -> dict[str, Any]:
        return {"got": request.json()}


def test_body_is_the_raw_bytes(app: App, client: TestClient) -> None:
    add_body_echo(app)
    payload = bytes(range(256)) * 3

    response = client.post("/body", content=payload)

    assert response.status_code == 200
    assert response.content == payload


def test_body_can_be_read_twice(app: App, client: TestClient) -> None:
    @app.post("/twice")
    def twice(request: Request) -> dict[str, bool]:
        return {"same": request.body() == request.body() == b"data"}

    assert client.post("/twice", content=b"data").json() == {"same": True}


def test_large_body_arrives_whole(app: App, client: TestClient) -> None:
    add_body_echo(app)
    payload = b"0123456789" * 300_000  # 3 MB: spooled to disk under ASGI

    response = client.post("/body", content=payload)

    assert response.content == payload


def test_json_body_is_parsed(app: App, client: TestClient) -> None:
    add_json_echo(app)

    response = client.post("/json", json={"a": [1, 2, {"b": None}], "c": "é"})

    assert response.json() == {"got": {"a": [1, 2, {"b": None}], "c": "é"}}


def test_json_body_that_is_not_json_is_400(app: App, client: TestClient) -> None:
    add_json_echo(app)

    response = client.post(
        "/json", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "not valid JSON" in response.json()["detail"]


def test_empty_json_body_is_400(app: App, client: TestClient) -> None:
    add_json_echo(app)

    response = client.post("/json", content=b"", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_json_nested_deeper_than_the_limit_is_400(app: App, client: TestClient) -> None:
    add_json_echo(app)
    deep = b"[" * 65 + b"]" * 65

    response = client.post("/json", content=deep, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert "64" in response.json()["detail"]


def test_json_nested_to_the_limit_is_accepted(app: App, client: TestClient) -> None:
    add_json_echo(app)
    deep = b"[" * 64 + b"]" * 64

    response = client.post("/json", content=deep, headers={"Content-Type": "application/json"})

    assert response.status_code == 200


def test_json_depth_limit_is_a_setting(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_JSON_DEPTH": 2})
    add_json_echo(app)
    client = make_client(app)

    response = client.post("/json", json={"a": {"b": {}}})

    assert response.status_code == 400


def test_json_far_beyond_any_depth_limit_is_400_not_500(app: App, client: TestClient) -> None:
    add_json_echo(app)
    deep = b"[" * 100_000 + b"]" * 100_000

    response = client.post("/json", content=deep, headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_body_over_max_body_size_with_content_length_is_413(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_BODY_SIZE": 10})
    add_body_echo(app)
    client = make_client(app)

    response = client.post("/body", content=b"x" * 11)

    assert response.status_code == 413
    assert "10 bytes" in response.json()["detail"]


def test_body_at_max_body_size_is_accepted(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_BODY_SIZE": 10})
    add_body_echo(app)
    client = make_client(app)

    response = client.post("/body", content=b"x" * 10)

    assert response.status_code == 200
    assert response.content == b"x" * 10


def test_chunked_body_over_max_body_size_is_413(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_BODY_SIZE": 10})
    add_body_echo(app)
    client = make_client(app)

    def chunks() -> Iterator[bytes]:
        yield b"x" * 6
        yield b"x" * 6

    response = client.post("/body", content=chunks())

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_chunked_body_within_the_limit_arrives_whole(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_BODY_SIZE": 10})
    add_body_echo(app)
    client = make_client(app)

    response = client.post("/body", content=iter([b"abc", b"def"]))

    assert response.status_code == 200
    assert response.content == b"abcdef"


def test_invalid_content_length_is_400(app: App, client: TestClient) -> None:
    add_body_echo(app)

    response = client.post("/body", content=b"abc", headers={"Content-Length": "three"})

    assert response.status_code == 400


# -- forms ---------------------------------------------------------------------------------------


def add_form_echo(app: App) -> None:
    @app.post("/form")
    def form(request: Request) -> dict[str, Any]:
        data = request.form()
        out: dict[str, Any] = {}
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                out.setdefault(key, []).append(
                    {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "content": value.read().decode("latin-1"),
                        "size": value.size,
                    }
                )
            else:
                out.setdefault(key, []).append(value)
        return out


def test_urlencoded_form_is_parsed(app: App, client: TestClient) -> None:
    add_form_echo(app)

    response = client.post("/form", data={"name": "Zoë", "tags": ["a", "b"], "empty": ""})

    assert response.json() == {"name": ["Zoë"], "tags": ["a", "b"], "empty": [""]}


def test_multipart_form_fields_are_parsed(app: App, client: TestClient) -> None:
    add_form_echo(app)

    response = client.post(
        "/form", data={"name": "Zoë"}, files={"doc": ("a.txt", b"hi", "text/plain")}
    )

    assert response.json()["name"] == ["Zoë"]


def test_multipart_file_upload_has_filename_type_and_content(app: App, client: TestClient) -> None:
    add_form_echo(app)
    content = b"line one\r\nline two\x00\xff"

    response = client.post(
        "/form", files={"doc": ("report.csv", content, "text/csv")}, data={"x": "1"}
    )

    assert response.status_code == 200
    assert response.json()["doc"] == [
        {
            "filename": "report.csv",
            "content_type": "text/csv",
            "content": content.decode("latin-1"),
            "size": len(content),
        }
    ]


def test_multipart_with_several_files_under_one_name(app: App, client: TestClient) -> None:
    add_form_echo(app)

    response = client.post(
        "/form",
        files=[
            ("docs", ("a.txt", b"A", "text/plain")),
            ("docs", ("b.bin", b"B", "application/octet-stream")),
        ],
    )

    assert [d["filename"] for d in response.json()["docs"]] == ["a.txt", "b.bin"]
    assert [d["content"] for d in response.json()["docs"]] == ["A", "B"]


def test_uploaded_filename_with_directories_keeps_the_last_part(
    app: App, client: TestClient
) -> None:
    add_form_echo(app)

    response = client.post("/form", files={"doc": ("../../etc/passwd", b"x", "text/plain")})

    assert response.json()["doc"][0]["filename"] == "passwd"


def test_large_upload_arrives_whole(app: App, client: TestClient) -> None:
    add_form_echo(app)
    content = bytes(range(256)) * 12_000  # 3 MB: spooled to disk

    response = client.post("/form", files={"doc": ("big.bin", content, "application/x-big")})

    assert response.json()["doc"][0]["size"] == len(content)
    assert response.json()["doc"][0]["content"] == content.decode("latin-1")


def test_form_with_a_non_form_content_type_is_415(app: App, client: TestClient) -> None:
    add_form_echo(app)

    response = client.post("/form", json={"a": 1})

    assert response.status_code == 415


def test_malformed_multipart_body_is_400(app: App, client: TestClient) -> None:
    add_form_echo(app)

    response = client.post(
        "/form",
        content=b"--xyz\r\nthis is not a part header\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )

    assert response.status_code == 400


def test_urlencoded_form_over_max_form_fields_is_413(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_FORM_FIELDS": 3})
    add_form_echo(app)
    client = make_client(app)

    response = client.post("/form", data={"a": "1", "b": "2", "c": "3", "d": "4"})

    assert response.status_code == 413


def test_multipart_form_over_max_form_fields_is_413(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_FORM_FIELDS": 3})
    add_form_echo(app)
    client = make_client(app)

    response = client.post(
        "/form",
        data={"a": "1", "b": "2", "c": "3", "d": "4"},
        files={"f": ("f.txt", b"x", "text/plain")},
    )

    assert response.status_code == 413


def test_form_at_max_form_fields_is_accepted(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_FORM_FIELDS": 3})
    add_form_echo(app)
    client = make_client(app)

    response = client.post("/form", data={"a": "1", "b": "2", "c": "3"})

    assert response.status_code == 200


def test_multipart_upload_over_max_body_size_is_413(make_client: ClientFactory) -> None:
    app = App(settings={"MAX_BODY_SIZE": 1000})
    add_form_echo(app)
    client = make_client(app)

    response = client.post("/form", files={"doc": ("big.bin", b"x" * 2000, "text/plain")})

    assert response.status_code == 413


def test_uploaded_files_are_closed_after_the_request(app: App, client: TestClient) -> None:
    seen: list[UploadFile] = []

    @app.post("/upload")
    def upload(request: Request) -> dict[str, bool]:
        file = request.form()["doc"]
        assert isinstance(file, UploadFile)
        seen.append(file)
        return {"closed": file.file.closed}

    response = client.post("/upload", files={"doc": ("a.txt", b"data", "text/plain")})

    assert response.json() == {"closed": False}
    assert len(seen) == 1
    assert seen[0].file.closed


def test_uploaded_files_are_closed_even_when_the_handler_fails(
    app: App, client: TestClient
) -> None:
    seen: list[UploadFile] = []

    @app.post("/upload")
    def upload(request: Request) -> None:
        file = request.form()["doc"]
        assert isinstance(file, UploadFile)
        seen.append(file)
        raise RuntimeError("boom")

    response = client.post("/upload", files={"doc": ("a.txt", b"data", "text/plain")})

    assert response.status_code == 500
    assert seen[0].file.closed


# -- state and id --------------------------------------------------------------------------------


def test_state_set_by_middleware_reaches_the_handler(app: App, client: TestClient) -> None:
    @app.middleware
    def tag(request: Request) -> Iterator[None]:
        request.state.user = "ada"
        yield

    @app.get("/state")
    def state(request: Request) -> dict[str, str]:
        return {"user": request.state.user}

    assert client.get("/state").json() == {"user": "ada"}


def test_state_is_fresh_for_every_request(app: App, client: TestClient) -> None:
    @app.get("/count")
    def count(request: Request) -> dict[str, int]:
        request.state.count = getattr(request.state, "count", 0) + 1
        return {"count": request.state.count}

    first = client.get("/count").json()
    second = client.get("/count").json()

    assert first == second == {"count": 1}


def add_id_echo(app: App) -> None:
    @app.get("/id")
    def request_id(request: Request) -> dict[str, str]:
        return {"id": request.id}


def test_request_id_is_random_without_a_header(app: App, client: TestClient) -> None:
    add_id_echo(app)

    first = client.get("/id").json()["id"]
    second = client.get("/id").json()["id"]

    assert first != second
    assert len(first) == 16
    int(first, 16)


def test_request_id_honours_a_plain_x_request_id(app: App, client: TestClient) -> None:
    add_id_echo(app)

    response = client.get("/id", headers={"X-Request-ID": "abc-123-DEF"})

    assert response.json() == {"id": "abc-123-DEF"}


@pytest.mark.parametrize(
    "hostile",
    ["a\r\nb", "a" * 200, "<script>", "a b", "caf\u00e9", "../../x"],
    ids=["crlf", "200-chars", "markup", "space", "non-ascii", "path"],
)
def test_request_id_replaces_a_hostile_x_request_id(
    app: App, client: TestClient, hostile: str
) -> None:
    add_id_echo(app)

    response = client.get("/id", headers=[(b"X-Request-ID", hostile.encode())])

    assert response.status_code == 200
    request_id = response.json()["id"]
    assert request_id != hostile
    assert len(request_id) == 16
    int(request_id, 16)


# -- hostile input -------------------------------------------------------------------------------


def test_crlf_in_a_request_header_value_is_not_a_500(app: App, client: TestClient) -> None:
    @app.get("/h")
    def h(request: Request) -> dict[str, Any]:
        return {"x": request.headers.get("x-evil"), "cookies": request.cookies}

    response = client.get(
        "/h", headers=[(b"X-Evil", b"a\r\nSet-Cookie: pwned=1"), (b"Cookie", b"a=1\r\nb=2")]
    )

    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert response.json()["x"] == "a\r\nSet-Cookie: pwned=1"


def test_a_huge_number_of_headers_is_not_a_500(app: App, client: TestClient) -> None:
    @app.get("/h")
    def h(request: Request) -> dict[str, Any]:
        return {"count": len(request.headers.getlist("x-many")), "id": request.id}

    headers = [(b"X-Many", str(i).encode()) for i in range(10_000)]

    response = client.get("/h", headers=headers)

    assert response.status_code < 500


def test_nul_in_the_path_is_404_not_500(app: App, client: TestClient) -> None:
    @app.get("/{name}")
    def named(name: str) -> str:
        return name

    response = client.get("/a%00b/c")

    assert response.status_code == 404


def test_nul_in_a_path_parameter_is_not_a_500(app: App, client: TestClient) -> None:
    @app.get("/files/{name}")
    def named(name: str) -> dict[str, str]:
        return {"name": name}

    response = client.get("/files/a%00b")

    assert response.status_code < 500


def test_invalid_utf8_in_the_path_is_not_a_500(app: App, client: TestClient) -> None:
    @app.get("/files/{name}")
    def named(name: str) -> dict[str, str]:
        return {"name": name}

    response = client.get("/files/caf%FF")

    assert response.status_code < 500


def test_hostile_cookie_header_is_not_a_500(app: App, client: TestClient) -> None:
    add_cookie_echo(app)
    hostile = '"; =; a="unterminated; \\\\\\; b=\\777; ' + "c=" + "x" * 10_000

    response = client.get("/cookies", headers={"Cookie": hostile})

    assert response.status_code == 200


def test_hostile_forwarded_for_from_a_trusted_proxy_is_not_a_500(
    proxied_client: TestClient,
) -> None:
    response = proxied_client.get(
        "/where", headers={"X-Forwarded-For": "not-an-ip, ::::, , 999.1.1.1, \x7f"}
    )

    assert response.status_code == 200


def test_body_without_content_length_or_chunked_framing_arrives_whole(
    app: App, client: TestClient
) -> None:
    # HTTP/2 and HTTP/3 requests may carry a body with neither header; the server frames it.
    add_body_echo(app)
    request = client.build_request("POST", "/body", content=b"hello")
    del request.headers["content-length"]

    response = client.send(request)

    assert response.content == b"hello"
