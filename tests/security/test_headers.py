"""Header attacks and limits: Host spoofing, CR/LF injection, open redirects, oversized bodies;
and the security headers every response carries."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from trellis import App, PlainTextResponse, Request, Response
from trellis.responses import RedirectResponse
from trellis.security import csp_nonce, is_safe_redirect, safe_redirect_target
from trellis.security.headers import is_data_type
from trellis.testing import TestClient

from .support import SECRET_KEY

MakeClient = Callable[..., TestClient]

PAGE_POLICIES = (
    "content-security-policy",
    "x-frame-options",
    "referrer-policy",
    "cross-origin-opener-policy",
)


@pytest.fixture
def app() -> App:
    app = App(
        settings={
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": ["example.com", "testserver"],
            "MAX_BODY_SIZE": 64 * 1024,
            "MAX_FORM_FIELDS": 50,
        }
    )

    @app.get("/")
    def home() -> str:
        return "<p>home</p>"

    @app.get("/go")
    def go(next: str = "/") -> RedirectResponse:
        return RedirectResponse(safe_redirect_target(next), 303)

    @app.get("/raw-redirect")
    def raw_redirect(to: str) -> RedirectResponse:
        return RedirectResponse(to, 303)

    @app.post("/form")
    def form(request: Request) -> dict[str, int]:
        return {"fields": len(request.form())}

    @app.get("/nonce")
    def nonce(request: Request) -> str:
        return f'<script nonce="{csp_nonce(request)}">1</script>'

    @app.get("/framed")
    def framed() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"X-Frame-Options": "SAMEORIGIN"}

    data_routes: dict[str, Callable[[], object]] = {
        "json": lambda: {"a": 1},
        "text": lambda: PlainTextResponse("a"),
        "png": lambda: Response(b"\x89PNG", media_type="image/png"),
        "csv": lambda: Response("a,b\n", media_type="text/csv"),
        "svg": lambda: Response("<svg/>", media_type="image/svg+xml"),
        "untyped": lambda: Response(b"?"),
        "framed-json": lambda: ({"a": 1}, 200, {"X-Frame-Options": "SAMEORIGIN"}),
    }
    for name, handler in data_routes.items():
        app.get(f"/data/{name}", name=name)(handler)

    return app


# -- Host header --


@pytest.mark.parametrize(
    "host",
    ["evil.example", "example.com.evil.example", "evil.example/example.com", "a@example.com"],
)
def test_a_spoofed_host_header_is_400(client: TestClient, host: str) -> None:
    response = client.get("/", headers={"Host": host})

    assert response.status_code == 400


def test_an_allowed_host_is_served(client: TestClient) -> None:
    assert client.get("/", headers={"Host": "example.com"}).status_code == 200


def test_x_forwarded_host_from_an_untrusted_peer_is_ignored(client: TestClient) -> None:
    response = client.get("/", headers={"Host": "example.com", "X-Forwarded-Host": "evil.example"})

    assert response.status_code == 200


def test_the_400_for_a_bad_host_still_carries_security_headers(client: TestClient) -> None:
    response = client.get("/", headers={"Host": "evil.example"})

    assert response.headers["x-content-type-options"] == "nosniff"


# -- redirects --


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "https://evil.example",
        "http:evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/\t/evil.example",
        "/\r\n/evil.example",
        "evil.example",
        "",
    ],
)
def test_open_redirect_targets_are_refused(client: TestClient, target: str) -> None:
    response = client.get("/go", params={"next": target})

    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("target", ["/", "/account", "/search?q=a&b=c", "/a/b#frag"])
def test_local_redirect_targets_are_kept(client: TestClient, target: str) -> None:
    assert is_safe_redirect(target)
    response = client.get("/go", params={"next": target})
    assert response.headers["location"] == target


@pytest.mark.parametrize(
    "target", ["/ok\r\nSet-Cookie: evil=1", "/ok\nLocation: https://evil.example", "/ok\r"]
)
def test_cr_lf_in_a_redirect_target_cannot_add_headers(client: TestClient, target: str) -> None:
    response = client.get("/raw-redirect", params={"to": target})

    assert response.status_code == 500  # refused by the response, not sent to the client
    assert "evil" not in response.headers.get("set-cookie", "")
    assert "evil" not in response.headers.get("location", "")


# -- body limits --


def test_an_oversized_body_is_413(client: TestClient) -> None:
    response = client.post(
        "/form",
        content=b"a=" + b"x" * (128 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413


def test_an_oversized_body_without_content_length_is_413(client: TestClient) -> None:
    def chunks() -> object:
        for _ in range(64):
            yield b"x" * 4096

    response = client.post(
        "/form", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 413


def test_too_many_form_fields_is_413(client: TestClient) -> None:
    body = "&".join(f"f{i}=1" for i in range(51))

    response = client.post(
        "/form", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 413


def test_too_many_multipart_fields_is_413(client: TestClient) -> None:
    response = client.post("/form", data={f"f{i}": "1" for i in range(51)}, files={"f": b"x"})

    assert response.status_code == 413


def test_a_form_within_the_limits_is_read(client: TestClient) -> None:
    body = "&".join(f"f{i}=1" for i in range(50))

    response = client.post(
        "/form", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.json() == {"fields": 50}


def test_deeply_nested_json_is_refused(app: App, client: TestClient) -> None:
    @app.post("/json")
    def take_json(request: Request) -> str:
        request.json()
        return "ok"

    response = client.post(
        "/json", content="[" * 100 + "]" * 100, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "nesting" in response.json()["detail"]


# -- security headers --


def test_responses_carry_the_default_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers

    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp


def test_error_responses_carry_the_security_headers(client: TestClient) -> None:
    page = client.get("/missing", headers={"Accept": "text/html"})
    data = client.get("/missing", headers={"Accept": "application/json"})

    assert page.status_code == data.status_code == 404
    assert page.headers["x-frame-options"] == "DENY"
    assert data.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/data/json", "application/json"),
        ("/data/text", "text/plain; charset=utf-8"),
        ("/data/png", "image/png"),
        ("/data/csv", "text/csv; charset=utf-8"),
    ],
)
def test_data_responses_get_nosniff_but_not_the_page_policies(
    client: TestClient, path: str, content_type: str
) -> None:
    response = client.get(path)

    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    for name in PAGE_POLICIES:
        assert name not in response.headers


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/data/svg", "image/svg+xml"),
        ("/data/untyped", None),
    ],
)
def test_pages_svg_and_untyped_responses_get_every_policy(
    client: TestClient, path: str, content_type: str | None
) -> None:
    response = client.get(path)

    assert response.headers.get("content-type") == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    for name in PAGE_POLICIES:
        assert name in response.headers


def test_data_responses_can_carry_the_page_policies_too(make_client: MakeClient) -> None:
    app = App(settings={"SECURITY_HEADERS_ON_DATA": True})
    app.get("/")(lambda: {"a": 1})

    headers = make_client(app).get("/").headers

    assert headers["content-type"] == "application/json"
    for name in PAGE_POLICIES:
        assert name in headers


def test_a_data_response_keeps_a_policy_its_handler_set(client: TestClient) -> None:
    headers = client.get("/data/framed-json").headers

    assert headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in headers


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("Text/Plain; charset=utf-8", True),
        ("text/event-stream", True),
        ("image/webp", True),
        ("font/woff2", True),
        ("text/css; charset=utf-8", True),
        ("text/javascript", False),
        ("text/html; charset=utf-8", False),
        ("application/xml", False),
        ("image/svg+xml", False),
        ("application/pdf", False),
        (None, False),
        ("", False),
    ],
)
def test_which_media_types_count_as_data(content_type: str | None, data: bool) -> None:
    assert is_data_type(content_type) is data


def test_hsts_is_sent_only_over_https(app: App, make_client: MakeClient) -> None:
    plain = make_client(app)
    secure = make_client(app, base_url="https://testserver")

    assert "strict-transport-security" not in plain.get("/").headers
    assert (
        secure.get("/").headers["strict-transport-security"]
        == "max-age=31536000; includeSubDomains"
    )


def test_a_header_the_handler_set_is_kept(client: TestClient) -> None:
    response = client.get("/framed")

    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]


def test_a_csp_nonce_is_added_to_the_policy_of_that_response(client: TestClient) -> None:
    response = client.get("/nonce")

    nonce = re.search(r'nonce="([^"]+)"', response.text)
    assert nonce is not None
    csp = response.headers["content-security-policy"]
    assert f"script-src 'self' 'nonce-{nonce.group(1)}'" in csp
    assert f"style-src 'self' 'nonce-{nonce.group(1)}'" in csp


def test_each_response_gets_a_new_nonce(client: TestClient) -> None:
    first = client.get("/nonce").headers["content-security-policy"]
    second = client.get("/nonce").headers["content-security-policy"]

    assert first != second


def test_a_response_without_nonce_keeps_the_plain_policy(client: TestClient) -> None:
    assert "nonce-" not in client.get("/").headers["content-security-policy"]


def test_security_headers_are_configurable(make_client: MakeClient) -> None:
    app = App(
        settings={
            "CONTENT_SECURITY_POLICY": "default-src 'none'",
            "FRAME_OPTIONS": "",
            "REFERRER_POLICY": "no-referrer",
        }
    )
    app.get("/")(lambda: "ok")

    headers = make_client(app).get("/").headers

    assert headers["content-security-policy"] == "default-src 'none'"
    assert "x-frame-options" not in headers
    assert headers["referrer-policy"] == "no-referrer"


def test_security_headers_can_be_turned_off(make_client: MakeClient) -> None:
    app = App(settings={"SECURITY_HEADERS": False})
    app.get("/")(lambda: "ok")

    headers = make_client(app).get("/").headers

    assert "content-security-policy" not in headers
    assert "x-content-type-options" not in headers


def test_too_many_uploaded_files_is_413(make_client: MakeClient) -> None:
    app = App(settings={"MAX_FORM_FILES": 3})

    @app.post("/upload")
    def upload(request: Request) -> int:
        return len(request.form())

    files = [("f", (f"{i}.txt", b"x", "text/plain")) for i in range(4)]

    assert make_client(app).post("/upload", files=files).status_code == 413


class EndlessInput:
    """A wsgi.input that never ends, counting the bytes the app took from it."""

    def __init__(self) -> None:
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        size = 65536 if size is None or size < 0 else min(size, 65536)
        self.taken += size
        return b"x" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_an_endless_wsgi_body_is_cut_off_at_the_limit(app: App) -> None:
    stream = EndlessInput()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/form",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
        "wsgi.input_terminated": True,
    }
    statuses: list[str] = []

    body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))

    assert statuses[0].startswith("413")
    assert b"limit" in body
    assert stream.taken <= 64 * 1024 + 65536  # the limit plus at most one read


def test_an_endless_asgi_body_is_cut_off_at_the_limit(app: App) -> None:
    import asyncio

    received = 0
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        nonlocal received
        received += 65536
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/form",
        "raw_path": b"/form",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }

    asyncio.run(app(scope, receive, send))

    assert sent[0]["status"] == 413
    assert received <= 64 * 1024 + 65536


def test_the_default_policy_allows_data_images_but_not_data_scripts(client: TestClient) -> None:
    csp = client.get("/").headers["content-security-policy"]

    assert "img-src 'self' data:" in csp
    assert "script-src" not in csp  # scripts fall back to default-src 'self': no data:, no inline
