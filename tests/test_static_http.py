"""`app.static(...)` over HTTP: types and validators, conditional GET, ranges, HEAD, url_for, and
every traversal spelling a client can put on the wire (404, never the file). Every test runs under
WSGI and ASGI; `test_staticfiles.py` covers FileResponse and StaticFiles directly."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from trellis import App, Request
from trellis.testing import TestClient

ClientFactory = Callable[..., TestClient]

CONTENT = b"0123456789abcdefghij"  # 20 bytes, so ranges are easy to read
SECRET = b"TOP SECRET: outside the static directory"
MTIME = 1_700_000_000
MTIME_HTTP = "Tue, 14 Nov 2023 22:13:20 GMT"

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


@pytest.fixture
def public(tmp_path: Path) -> Path:
    """tmp/public holds the served files; tmp/secret.txt sits next to it, outside."""
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "data.bin").write_bytes(CONTENT)
    os.utime(root / "data.bin", (MTIME, MTIME))
    (root / "hello.txt").write_bytes(b"hello\n")
    (root / "css" / "site.css").write_bytes(b"body { color: red }\n")
    (root / "css" / "a b.css").write_bytes(b"/* spaced */\n")
    (root / "café.txt").write_bytes("crème".encode())
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / ".env").write_bytes(b"SECRET_KEY=hidden")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return root


@pytest.fixture
def seen_paths() -> list[str]:
    """The request paths as the app received them (after the server decoded them)."""
    return []


@pytest.fixture
def static_app(public: Path, seen_paths: list[str]) -> App:
    app = App(settings={})
    app.static("/static", str(public))

    @app.middleware
    def record(request: Request) -> Iterator[None]:
        seen_paths.append(request.path)
        yield

    return app


@pytest.fixture
def static_client(static_app: App, make_client: ClientFactory) -> TestClient:
    return make_client(static_app)


def raw_get(client: TestClient, raw_path: str) -> httpx.Response:
    """GET `raw_path` exactly as written: httpx would otherwise resolve '.' and '..' segments."""
    request = client.build_request("GET", "/")
    # httpx has no public way to send a non-normalised path; swap the parsed path in place.
    request.url._uri_reference = request.url._uri_reference._replace(path=raw_path)
    assert request.url.raw_path == raw_path.encode()
    return client.send(request)


# -- serving a file ------------------------------------------------------------------------------


def test_file_is_served_with_its_bytes(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin")

    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-length"] == "20"


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/static/hello.txt", "text/plain; charset=utf-8"),
        ("/static/css/site.css", "text/css; charset=utf-8"),
        ("/static/logo.png", "image/png"),
        ("/static/data.bin", "application/octet-stream"),
    ],
)
def test_file_is_served_with_the_right_content_type(
    static_client: TestClient, path: str, media_type: str
) -> None:
    assert static_client.get(path).headers["content-type"] == media_type


def test_file_has_etag_last_modified_and_cache_control(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin")

    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"] == MTIME_HTTP
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["accept-ranges"] == "bytes"


def test_max_age_gives_public_cache_control(public: Path, make_client: ClientFactory) -> None:
    app = App(settings={})
    app.static("/assets", str(public), max_age=3600)
    client = make_client(app)

    response = client.get("/assets/hello.txt")

    assert response.headers["cache-control"] == "public, max-age=3600"


def test_file_in_a_subdirectory_is_served(static_client: TestClient) -> None:
    response = static_client.get("/static/css/site.css")

    assert response.content == b"body { color: red }\n"


def test_file_with_a_non_ascii_name_is_served(static_client: TestClient) -> None:
    response = static_client.get("/static/caf%C3%A9.txt")

    assert response.status_code == 200
    assert response.content == "crème".encode()


def test_missing_file_is_404(static_client: TestClient) -> None:
    assert static_client.get("/static/nope.txt").status_code == 404


def test_directory_is_404(static_client: TestClient) -> None:
    assert static_client.get("/static/css").status_code == 404


def test_static_prefix_alone_is_404(static_client: TestClient) -> None:
    assert static_client.get("/static/").status_code == 404


def test_hidden_file_is_404(static_client: TestClient) -> None:
    response = static_client.get("/static/.env")

    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.content


def test_post_to_a_static_file_is_405(static_client: TestClient) -> None:
    response = static_client.post("/static/hello.txt")

    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


# -- HEAD, conditional GET, ranges ---------------------------------------------------------------


def test_head_sends_the_headers_without_the_body(static_client: TestClient) -> None:
    response = static_client.head("/static/data.bin")

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "20"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["last-modified"] == MTIME_HTTP


def test_if_none_match_with_the_current_etag_is_304(static_client: TestClient) -> None:
    etag = static_client.get("/static/data.bin").headers["etag"]

    response = static_client.get("/static/data.bin", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert "content-length" not in response.headers


def test_if_none_match_with_a_weak_form_of_the_etag_is_304(static_client: TestClient) -> None:
    etag = static_client.get("/static/data.bin").headers["etag"]

    response = static_client.get("/static/data.bin", headers={"If-None-Match": f"W/{etag}"})

    assert response.status_code == 304


def test_if_none_match_with_a_stale_etag_is_200(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"If-None-Match": '"stale"'})

    assert response.status_code == 200
    assert response.content == CONTENT


def test_if_modified_since_the_last_modification_is_304(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"If-Modified-Since": MTIME_HTTP})

    assert response.status_code == 304
    assert response.content == b""


def test_if_modified_since_an_earlier_date_is_200(static_client: TestClient) -> None:
    response = static_client.get(
        "/static/data.bin", headers={"If-Modified-Since": "Mon, 13 Nov 2023 00:00:00 GMT"}
    )

    assert response.status_code == 200


def test_head_with_a_matching_etag_is_304(static_client: TestClient) -> None:
    etag = static_client.get("/static/data.bin").headers["etag"]

    response = static_client.head("/static/data.bin", headers={"If-None-Match": etag})

    assert response.status_code == 304


def test_range_is_206_with_the_requested_bytes(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"Range": "bytes=2-5"})

    assert response.status_code == 206
    assert response.content == b"2345"
    assert response.headers["content-range"] == "bytes 2-5/20"
    assert response.headers["content-length"] == "4"


def test_suffix_range_gives_the_last_bytes(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"Range": "bytes=-3"})

    assert response.status_code == 206
    assert response.content == b"hij"
    assert response.headers["content-range"] == "bytes 17-19/20"


def test_open_ended_range_runs_to_the_end(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"Range": "bytes=15-"})

    assert response.content == b"fghij"


def test_range_past_the_end_is_416(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"Range": "bytes=50-60"})

    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */20"
    assert response.content == b""


def test_malformed_range_gives_the_whole_file(static_client: TestClient) -> None:
    response = static_client.get("/static/data.bin", headers={"Range": "bytes=x-y"})

    assert response.status_code == 200
    assert response.content == CONTENT


def test_range_with_a_stale_if_range_gives_the_whole_file(static_client: TestClient) -> None:
    response = static_client.get(
        "/static/data.bin", headers={"Range": "bytes=0-1", "If-Range": '"stale"'}
    )

    assert response.status_code == 200
    assert response.content == CONTENT


# -- url_for -------------------------------------------------------------------------------------


def test_url_for_static_quotes_spaces(static_app: App) -> None:
    assert static_app.url_for("static", path="css/a b.css") == "/static/css/a%20b.css"


def test_url_for_static_quotes_unicode_and_percent(static_app: App) -> None:
    assert static_app.url_for("static", path="café 100%.txt") == "/static/caf%C3%A9%20100%25.txt"


def test_url_for_static_gives_a_url_that_serves_the_file(static_client: TestClient) -> None:
    url = static_client.app.url_for("static", path="css/a b.css")  # type: ignore[attr-defined]

    response = static_client.get(url)

    assert response.status_code == 200
    assert response.content == b"/* spaced */\n"


def test_url_for_static_quotes_a_question_mark(static_app: App) -> None:
    assert static_app.url_for("static", path="what?.txt") == "/static/what%3F.txt"


# -- SECURITY: traversal over the wire -----------------------------------------------------------


def assert_not_served(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert SECRET not in response.content
    assert b"root:" not in response.content


def test_dot_dot_segment_is_404(static_client: TestClient, seen_paths: list[str]) -> None:
    response = raw_get(static_client, "/static/../secret.txt")

    assert seen_paths == ["/static/../secret.txt"]
    assert_not_served(response)


def test_encoded_dot_dot_segment_is_404(static_client: TestClient, seen_paths: list[str]) -> None:
    response = static_client.get("/static/%2e%2e/secret.txt")

    assert seen_paths == ["/static/../secret.txt"]
    assert_not_served(response)


def test_dot_dot_with_an_encoded_slash_is_404(
    static_client: TestClient, seen_paths: list[str]
) -> None:
    response = static_client.get("/static/..%2fsecret.txt")

    assert seen_paths == ["/static/../secret.txt"]
    assert_not_served(response)


def test_fully_encoded_dot_dot_slash_is_404(
    static_client: TestClient, seen_paths: list[str]
) -> None:
    response = static_client.get("/static/%2e%2e%2fsecret.txt")

    assert seen_paths == ["/static/../secret.txt"]
    assert_not_served(response)


def test_dot_dot_deeper_in_the_path_is_404(static_client: TestClient) -> None:
    response = raw_get(static_client, "/static/css/../../secret.txt")

    assert_not_served(response)


def test_double_encoded_dot_dot_is_404(static_client: TestClient) -> None:
    response = static_client.get("/static/%252e%252e/secret.txt")

    assert_not_served(response)


def test_absolute_path_after_the_prefix_is_404(
    static_client: TestClient, seen_paths: list[str]
) -> None:
    response = static_client.get("/static//etc/passwd")

    assert seen_paths == ["/static//etc/passwd"]
    assert_not_served(response)


def test_encoded_absolute_path_after_the_prefix_is_404(static_client: TestClient) -> None:
    response = static_client.get("/static/%2fetc/passwd")

    assert_not_served(response)


def test_absolute_path_to_the_secret_is_404(static_client: TestClient, public: Path) -> None:
    secret = str(public.parent / "secret.txt")

    response = static_client.get("/static/" + secret)

    assert_not_served(response)


def test_nul_in_the_path_is_404(static_client: TestClient, seen_paths: list[str]) -> None:
    response = static_client.get("/static/a%00b")

    assert seen_paths == ["/static/a\0b"]
    assert response.status_code == 404


def test_nul_after_a_real_file_name_is_404(static_client: TestClient) -> None:
    response = static_client.get("/static/hello.txt%00.png")

    assert response.status_code == 404
    assert b"hello" not in response.content


def test_backslash_traversal_is_404(static_client: TestClient) -> None:
    response = static_client.get("/static/..%5csecret.txt")

    assert_not_served(response)


def test_dot_segment_is_404(static_client: TestClient) -> None:
    response = raw_get(static_client, "/static/./hello.txt")

    assert response.status_code == 404


@needs_symlinks
def test_symlink_pointing_outside_is_404(public: Path, static_client: TestClient) -> None:
    (public / "link.txt").symlink_to(public.parent / "secret.txt")

    response = static_client.get("/static/link.txt")

    assert_not_served(response)


@needs_symlinks
def test_symlinked_directory_pointing_outside_is_404(
    public: Path, static_client: TestClient
) -> None:
    (public / "up").symlink_to(public.parent, target_is_directory=True)

    response = static_client.get("/static/up/secret.txt")

    assert_not_served(response)


@needs_symlinks
def test_symlink_inside_the_directory_is_served(public: Path, static_client: TestClient) -> None:
    (public / "alias.txt").symlink_to(public / "hello.txt")

    response = static_client.get("/static/alias.txt")

    assert response.status_code == 200
    assert response.content == b"hello\n"
