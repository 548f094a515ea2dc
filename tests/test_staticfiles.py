"""FileResponse (validators, conditional GET, ranges, downloads) and StaticFiles (path safety)."""

from __future__ import annotations

import os
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from trellis import staticfiles
from trellis.datastructures import Headers
from trellis.errors import ConfigurationError, HTTPError
from trellis.responses import Response
from trellis.staticfiles import FileResponse, StaticFiles, guess_media_type

CONTENT = b"0123456789abcdefghij"  # 20 bytes, so ranges are easy to read
MTIME = 1_700_000_000
MTIME_HTTP = "Tue, 14 Nov 2023 22:13:20 GMT"

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


class FakeRequest:
    """Just what FileResponse.finalize reads from a request."""

    def __init__(self, method: str = "GET", headers: dict[str, str] | None = None) -> None:
        self.method = method
        self.scheme = "http"
        self.headers = Headers([(k.lower(), v) for k, v in (headers or {}).items()])


def body_of(response: Response) -> bytes:
    if response.stream is None:
        return response.body
    return b"".join(response.stream)  # type: ignore[arg-type]


def header(response: Response, name: str) -> str | None:
    return response.headers.get(name)


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    os.utime(path, (MTIME, MTIME))
    return path


@pytest.fixture
def respond(data_file: Path) -> Callable[..., FileResponse]:
    """Build a FileResponse for data.bin and finalize it for a request with these headers."""

    def make(method: str = "GET", **headers: str) -> FileResponse:
        response = FileResponse(data_file)
        request = FakeRequest(method, {k.replace("_", "-"): v for k, v in headers.items()})
        response.finalize(request, secure_cookies=False)  # type: ignore[arg-type]
        return response

    return make


def raises_404(call: Callable[[], Any]) -> None:
    with pytest.raises(HTTPError) as info:
        call()
    assert info.value.status == 404


# Media types


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("module.mjs", "text/javascript; charset=utf-8"),
        ("site.css", "text/css; charset=utf-8"),
        ("SITE.CSS", "text/css; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("app.wasm", "application/wasm"),
        ("photo.webp", "image/webp"),
        ("photo.avif", "image/avif"),
        ("font.woff2", "font/woff2"),
        ("data.json", "application/json"),
        ("index.html", "text/html; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("image.png", "image/png"),
        ("blob.unknownext", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ],
)
def test_guess_media_type_knows_web_asset_types(name: str, expected: str) -> None:
    assert guess_media_type(name) == expected


def test_compressed_file_is_served_as_the_archive_not_its_inner_type() -> None:
    assert guess_media_type("site.css.gz") == "application/gzip"


def test_file_response_content_type_is_guessed_from_the_path(tmp_path: Path) -> None:
    path = tmp_path / "site.css"
    path.write_text("body {}")
    assert header(FileResponse(path), "content-type") == "text/css; charset=utf-8"


def test_file_response_explicit_media_type_wins(data_file: Path) -> None:
    response = FileResponse(data_file, media_type="application/x-custom")
    assert header(response, "content-type") == "application/x-custom"


# Plain 200


def test_file_response_streams_the_whole_file_with_validators(respond: Any) -> None:
    response = respond()
    assert response.status == 200
    assert body_of(response) == CONTENT
    assert header(response, "content-length") == str(len(CONTENT))
    assert header(response, "last-modified") == MTIME_HTTP
    assert header(response, "accept-ranges") == "bytes"
    etag = header(response, "etag")
    assert etag is not None
    assert etag.startswith('"')
    assert etag.endswith('"')


def test_file_response_body_is_a_stream_read_in_chunks(data_file: Path) -> None:
    response = FileResponse(data_file, chunk_size=8)
    assert response.body == b""
    assert response.stream is not None
    assert list(response.stream) == [CONTENT[:8], CONTENT[8:16], CONTENT[16:]]  # type: ignore[call-overload]


def test_etag_changes_when_the_file_changes(data_file: Path) -> None:
    before = header(FileResponse(data_file), "etag")
    data_file.write_bytes(CONTENT + b"more")
    assert header(FileResponse(data_file), "etag") != before


def test_empty_file_is_served_with_zero_length(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    response = FileResponse(path)
    assert header(response, "content-length") == "0"
    assert body_of(response) == b""


def test_missing_file_is_404(tmp_path: Path) -> None:
    raises_404(lambda: FileResponse(tmp_path / "nope.txt"))


def test_directory_is_404(tmp_path: Path) -> None:
    raises_404(lambda: FileResponse(tmp_path))


def test_404_detail_does_not_reveal_the_path(tmp_path: Path) -> None:
    with pytest.raises(HTTPError) as info:
        FileResponse(tmp_path / "private-name.txt")
    assert "private-name" not in str(info.value.detail)


# Lazy opening and closing


class OpenSpy:
    def __init__(self) -> None:
        self.files: list[BinaryIO] = []

    def __call__(self, path: str, mode: str) -> BinaryIO:
        file: BinaryIO = open(path, mode)  # noqa: SIM115
        self.files.append(file)
        return file


@pytest.fixture
def open_spy(monkeypatch: pytest.MonkeyPatch) -> OpenSpy:
    spy = OpenSpy()
    monkeypatch.setattr(staticfiles, "open", spy, raising=False)
    return spy


def test_file_is_not_opened_until_the_stream_is_read(data_file: Path, open_spy: OpenSpy) -> None:
    FileResponse(data_file)
    assert open_spy.files == []


def test_file_is_closed_when_the_stream_is_closed_early(data_file: Path, open_spy: OpenSpy) -> None:
    response = FileResponse(data_file, chunk_size=4)
    stream = response.stream
    assert stream is not None
    iterator = iter(stream)  # type: ignore[arg-type]
    assert next(iterator) == CONTENT[:4]
    assert not open_spy.files[0].closed
    iterator.close()  # what servers do when the client goes away
    assert open_spy.files[0].closed


def test_file_is_closed_when_the_stream_is_exhausted(data_file: Path, open_spy: OpenSpy) -> None:
    body_of(FileResponse(data_file))
    assert open_spy.files[0].closed


def test_304_never_opens_the_file(respond: Any, open_spy: OpenSpy) -> None:
    etag = header(respond(), "etag")
    respond(if_none_match=etag)
    assert open_spy.files == []


def test_file_that_shrinks_while_sent_fails_loudly(data_file: Path) -> None:
    response = FileResponse(data_file)
    data_file.write_bytes(b"short")
    with pytest.raises(OSError, match="shrank"):
        body_of(response)


# Conditional requests


def test_matching_if_none_match_is_304_without_body(respond: Any) -> None:
    etag = header(respond(), "etag")
    response = respond(if_none_match=etag)
    assert response.status == 304
    assert body_of(response) == b""
    assert response.stream is None


def test_304_keeps_validators_and_drops_content_headers(respond: Any) -> None:
    etag = header(respond(), "etag")
    response = respond(if_none_match=etag)
    assert header(response, "etag") == etag
    assert header(response, "last-modified") == MTIME_HTTP
    assert header(response, "content-length") is None
    assert header(response, "content-type") is None


def test_if_none_match_uses_weak_comparison(respond: Any) -> None:
    etag = header(respond(), "etag")
    assert respond(if_none_match=f"W/{etag}").status == 304


def test_if_none_match_list_containing_the_etag_is_304(respond: Any) -> None:
    etag = header(respond(), "etag")
    assert respond(if_none_match=f'"other", W/"x,y", {etag}').status == 304


def test_if_none_match_star_is_304(respond: Any) -> None:
    assert respond(if_none_match="*").status == 304


def test_different_etag_is_200_with_body(respond: Any) -> None:
    response = respond(if_none_match='"something-else"')
    assert response.status == 200
    assert body_of(response) == CONTENT


def test_if_modified_since_equal_to_mtime_is_304(respond: Any) -> None:
    assert respond(if_modified_since=MTIME_HTTP).status == 304


def test_if_modified_since_later_than_mtime_is_304(respond: Any) -> None:
    later = formatdate(MTIME + 3600, usegmt=True)
    assert respond(if_modified_since=later).status == 304


def test_if_modified_since_before_mtime_is_200(respond: Any) -> None:
    earlier = formatdate(MTIME - 1, usegmt=True)
    assert respond(if_modified_since=earlier).status == 200


def test_if_modified_since_is_ignored_when_if_none_match_is_sent(respond: Any) -> None:
    response = respond(if_none_match='"something-else"', if_modified_since=MTIME_HTTP)
    assert response.status == 200


def test_invalid_if_modified_since_is_ignored(respond: Any) -> None:
    assert respond(if_modified_since="not a date").status == 200


def test_head_with_matching_etag_is_304(respond: Any) -> None:
    etag = header(respond(), "etag")
    assert respond("HEAD", if_none_match=etag).status == 304


def test_conditional_headers_are_ignored_for_post(respond: Any) -> None:
    etag = header(respond(), "etag")
    response = respond("POST", if_none_match=etag, range="bytes=0-1")
    assert response.status == 200
    assert body_of(response) == CONTENT


def test_non_200_file_response_is_not_made_conditional(data_file: Path) -> None:
    response = FileResponse(data_file, status=404)
    etag = header(response, "etag")
    assert etag is not None
    response.finalize(FakeRequest(headers={"if-none-match": etag}), False)  # type: ignore[arg-type]
    assert response.status == 404


def test_if_match_mismatch_is_412(respond: Any) -> None:
    assert respond(if_match='"something-else"').status == 412


def test_if_match_with_current_etag_is_200(respond: Any) -> None:
    etag = header(respond(), "etag")
    assert respond(if_match=etag).status == 200


def test_if_unmodified_since_before_mtime_is_412(respond: Any) -> None:
    earlier = formatdate(MTIME - 60, usegmt=True)
    assert respond(if_unmodified_since=earlier).status == 412


# Ranges


def test_range_first_last_is_206_with_that_slice(respond: Any) -> None:
    response = respond(range="bytes=2-5")
    assert response.status == 206
    assert body_of(response) == CONTENT[2:6]
    assert header(response, "content-range") == "bytes 2-5/20"
    assert header(response, "content-length") == "4"


def test_range_open_ended_is_206_to_the_end(respond: Any) -> None:
    response = respond(range="bytes=15-")
    assert response.status == 206
    assert body_of(response) == CONTENT[15:]
    assert header(response, "content-range") == "bytes 15-19/20"
    assert header(response, "content-length") == "5"


def test_suffix_range_is_206_with_the_last_bytes(respond: Any) -> None:
    response = respond(range="bytes=-3")
    assert response.status == 206
    assert body_of(response) == CONTENT[-3:]
    assert header(response, "content-range") == "bytes 17-19/20"


def test_suffix_range_larger_than_the_file_is_the_whole_file(respond: Any) -> None:
    response = respond(range="bytes=-500")
    assert response.status == 206
    assert body_of(response) == CONTENT
    assert header(response, "content-range") == "bytes 0-19/20"
    assert header(response, "content-length") == "20"


def test_range_past_the_end_is_clamped(respond: Any) -> None:
    response = respond(range="bytes=18-99999999999999999999999999")
    assert response.status == 206
    assert body_of(response) == CONTENT[18:]
    assert header(response, "content-range") == "bytes 18-19/20"


def test_range_streams_only_the_slice_in_chunks(data_file: Path) -> None:
    response = FileResponse(data_file, chunk_size=3)
    response.finalize(FakeRequest(headers={"range": "bytes=1-7"}), False)  # type: ignore[arg-type]
    assert list(response.stream) == [b"123", b"456", b"7"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "range_value", ["bytes=20-", "bytes=25-30", "bytes=-0", "bytes=" + "9" * 30 + "-"]
)
def test_unsatisfiable_range_is_416_with_the_size(respond: Any, range_value: str) -> None:
    response = respond(range=range_value)
    assert response.status == 416
    assert header(response, "content-range") == "bytes */20"
    assert body_of(response) == b""


def test_multiple_ranges_are_ignored_with_a_200(respond: Any) -> None:
    response = respond(range="bytes=0-1, 5-6")
    assert response.status == 200
    assert body_of(response) == CONTENT
    assert header(response, "content-range") is None


@pytest.mark.parametrize(
    "range_value",
    ["bytes=abc", "bytes=5-2", "bytes=", "bytes=-", "items=0-1", "0-1", "bytes=²-", "bytes=1-2-3"],
)
def test_malformed_range_is_ignored_with_a_200(respond: Any, range_value: str) -> None:
    response = respond(range=range_value)
    assert response.status == 200
    assert body_of(response) == CONTENT


def test_range_unit_is_case_insensitive(respond: Any) -> None:
    assert respond(range="Bytes=0-0").status == 206


def test_range_on_head_is_ignored(respond: Any) -> None:
    response = respond("HEAD", range="bytes=0-1")
    assert response.status == 200
    assert header(response, "content-length") == "20"


def test_range_on_an_empty_file_is_a_200(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    response = FileResponse(path)
    response.finalize(FakeRequest(headers={"range": "bytes=-5"}), False)  # type: ignore[arg-type]
    assert response.status == 200


def test_if_range_with_current_etag_is_206(respond: Any) -> None:
    etag = header(respond(), "etag")
    assert respond(range="bytes=0-1", if_range=etag).status == 206


def test_if_range_with_other_etag_is_200_full_body(respond: Any) -> None:
    response = respond(range="bytes=0-1", if_range='"stale"')
    assert response.status == 200
    assert body_of(response) == CONTENT


def test_if_range_with_weak_etag_is_200(respond: Any) -> None:
    etag = header(respond(), "etag")
    assert respond(range="bytes=0-1", if_range=f"W/{etag}").status == 200


def test_if_range_with_last_modified_date_is_206(respond: Any) -> None:
    assert respond(range="bytes=0-1", if_range=MTIME_HTTP).status == 206


def test_if_range_with_other_date_is_200(respond: Any) -> None:
    earlier = formatdate(MTIME - 60, usegmt=True)
    assert respond(range="bytes=0-1", if_range=earlier).status == 200


# Content-Disposition


def test_no_filename_means_no_content_disposition(data_file: Path) -> None:
    assert header(FileResponse(data_file), "content-disposition") is None


def test_ascii_filename_is_a_plain_attachment(data_file: Path) -> None:
    response = FileResponse(data_file, filename="report.pdf")
    assert header(response, "content-disposition") == 'attachment; filename="report.pdf"'


def test_inline_disposition(data_file: Path) -> None:
    response = FileResponse(data_file, filename="report.pdf", content_disposition="inline")
    assert header(response, "content-disposition") == 'inline; filename="report.pdf"'


def test_non_ascii_filename_uses_rfc5987_with_ascii_fallback(data_file: Path) -> None:
    response = FileResponse(data_file, filename="résumé 文件.pdf")
    assert header(response, "content-disposition") == (
        "attachment; filename=\"resume __.pdf\"; filename*=UTF-8''"
        "r%C3%A9sum%C3%A9%20%E6%96%87%E4%BB%B6.pdf"
    )


def test_hostile_filename_cannot_break_the_header(data_file: Path) -> None:
    response = FileResponse(data_file, filename='a"\r\nX: y.txt')
    value = header(response, "content-disposition")
    assert value == "attachment; filename=\"a___X_ y.txt\"; filename*=UTF-8''a%22%0D%0AX%3A%20y.txt"
    assert header(response, "x") is None


def test_filename_of_only_unsafe_characters_falls_back_to_download(data_file: Path) -> None:
    response = FileResponse(data_file, filename="...")
    assert header(response, "content-disposition") == (
        "attachment; filename=\"download\"; filename*=UTF-8''..."
    )


def test_unknown_disposition_type_is_refused(data_file: Path) -> None:
    with pytest.raises(ValueError, match="attachment"):
        FileResponse(data_file, content_disposition="evil\r\nx: y")  # type: ignore[arg-type]


def test_content_type_is_guessed_from_the_download_filename(data_file: Path) -> None:
    response = FileResponse(data_file, filename="export.csv")
    assert header(response, "content-type") == "text/csv; charset=utf-8"


# StaticFiles


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp_path/static holds the site; tmp_path/secret and tmp_path/private/ lie outside it."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_text("body { color: red }")
    (static / "index.txt").write_text("top")
    (static / ".env").write_text("SECRET=1")
    (static / "sub").mkdir()
    (static / "sub" / ".hidden").write_text("hidden")
    (static / "docs").mkdir()
    (static / "docs" / "index.html").write_text("<p>docs</p>")
    (tmp_path / "secret").write_text("outside")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.pem").write_text("outside too")
    return static


def test_static_files_serves_a_nested_file(site: Path) -> None:
    response = StaticFiles(site).response("css/site.css")
    assert response.status == 200
    assert body_of(response) == b"body { color: red }"
    assert header(response, "content-type") == "text/css; charset=utf-8"


def test_static_files_default_is_no_cache(site: Path) -> None:
    response = StaticFiles(site).response("index.txt")
    assert header(response, "cache-control") == "no-cache"


def test_static_files_max_age_is_public_cache(site: Path) -> None:
    response = StaticFiles(site, max_age=3600).response("index.txt")
    assert header(response, "cache-control") == "public, max-age=3600"


def test_static_file_revalidates_with_etag(site: Path) -> None:
    static = StaticFiles(site)
    etag = header(static.response("index.txt"), "etag")
    response = static.response("index.txt")
    response.finalize(FakeRequest(headers={"if-none-match": etag or ""}), False)  # type: ignore[arg-type]
    assert response.status == 304
    assert header(response, "cache-control") == "no-cache"


def test_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        StaticFiles(tmp_path / "nowhere")


def test_file_as_directory_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(ConfigurationError, match="not a directory"):
        StaticFiles(path)


def test_negative_max_age_is_a_configuration_error(site: Path) -> None:
    with pytest.raises(ConfigurationError, match="max_age"):
        StaticFiles(site, max_age=-1)


def test_missing_static_file_is_404(site: Path) -> None:
    raises_404(lambda: StaticFiles(site).response("css/nope.css"))


@pytest.mark.parametrize(
    "path",
    [
        "../secret",
        "..",
        "../static/index.txt",
        "..%2fsecret",
        "css/../../secret",
        "a/../../secret",
        "css/../index.txt",
        "/etc/passwd",
        "//etc/passwd",
        "C:\\x",
        "C:x",
        "c:/secret",
        "a\\..\\b",
        "..\\secret",
        "index.txt\x00.png",
        "a\x00b",
        ".",
        "./index.txt",
        "css/./site.css",
        "css//site.css",
        "css/site.css/",
        "",
    ],
)
def test_path_escaping_or_tricking_the_root_is_404(site: Path, path: str) -> None:
    raises_404(lambda: StaticFiles(site).response(path))


@pytest.mark.parametrize("path", ["../secret", "a/../../secret", "/etc/passwd", "..\\secret"])
def test_traversal_is_404_even_when_following_symlinks(site: Path, path: str) -> None:
    raises_404(lambda: StaticFiles(site, follow_symlinks=True).response(path))


@pytest.mark.parametrize("path", [".env", "sub/.hidden", ".git/config"])
def test_hidden_files_are_404(site: Path, path: str) -> None:
    raises_404(lambda: StaticFiles(site).response(path))


def test_hidden_files_are_served_when_allowed(site: Path) -> None:
    response = StaticFiles(site, allow_hidden=True).response("sub/.hidden")
    assert body_of(response) == b"hidden"


def test_allow_hidden_still_refuses_dot_dot(site: Path) -> None:
    raises_404(lambda: StaticFiles(site, allow_hidden=True).response("../secret"))


@needs_symlinks
def test_symlink_to_a_file_outside_is_404(site: Path) -> None:
    (site / "link.txt").symlink_to(site.parent / "secret")
    raises_404(lambda: StaticFiles(site).response("link.txt"))


@needs_symlinks
def test_symlinked_directory_outside_is_404(site: Path) -> None:
    (site / "vendor").symlink_to(site.parent / "private", target_is_directory=True)
    raises_404(lambda: StaticFiles(site).response("vendor/key.pem"))


@needs_symlinks
def test_symlink_inside_the_root_is_served(site: Path) -> None:
    (site / "alias.css").symlink_to(site / "css" / "site.css")
    response = StaticFiles(site).response("alias.css")
    assert body_of(response) == b"body { color: red }"


@needs_symlinks
def test_symlink_outside_is_served_when_following_symlinks(site: Path) -> None:
    (site / "vendor").symlink_to(site.parent / "private", target_is_directory=True)
    response = StaticFiles(site, follow_symlinks=True).response("vendor/key.pem")
    assert body_of(response) == b"outside too"


@needs_symlinks
def test_root_given_through_a_symlink_still_serves(site: Path, tmp_path: Path) -> None:
    (tmp_path / "public").symlink_to(site, target_is_directory=True)
    response = StaticFiles(tmp_path / "public").response("index.txt")
    assert body_of(response) == b"top"


@needs_symlinks
def test_sibling_directory_sharing_the_root_prefix_is_404(site: Path) -> None:
    (site.parent / "static-private").mkdir()
    (site.parent / "static-private" / "x.txt").write_text("nope")
    (site / "x.txt").symlink_to(site.parent / "static-private" / "x.txt")
    raises_404(lambda: StaticFiles(site).response("x.txt"))


def test_directory_is_404_without_html(site: Path) -> None:
    raises_404(lambda: StaticFiles(site).response("docs/"))


def test_html_mode_serves_index_html_for_a_directory(site: Path) -> None:
    response = StaticFiles(site, html=True).response("docs/")
    assert body_of(response) == b"<p>docs</p>"
    assert header(response, "content-type") == "text/html; charset=utf-8"


def test_html_mode_redirects_a_directory_without_trailing_slash(site: Path) -> None:
    with pytest.raises(HTTPError) as info:
        StaticFiles(site, html=True).response("docs")
    assert info.value.status == 308
    assert info.value.headers == {"location": "docs/"}


def test_html_mode_directory_without_index_is_404(site: Path) -> None:
    raises_404(lambda: StaticFiles(site, html=True).response("css/"))


@needs_symlinks
def test_html_mode_index_symlinked_outside_is_404(site: Path) -> None:
    (site / "leak").mkdir()
    (site / "leak" / "index.html").symlink_to(site.parent / "secret")
    raises_404(lambda: StaticFiles(site, html=True).response("leak/"))
