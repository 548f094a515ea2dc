"""Form body parsing: urlencoded and multipart/form-data, limits, and hostile bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trellis import formparsers
from trellis.datastructures import FormData, UploadFile
from trellis.errors import HTTPError
from trellis.formparsers import (
    FormLimits,
    MultipartReader,
    parse_form,
    parse_multipart,
    parse_urlencoded,
)

BOUNDARY = "trellis-boundary-1234"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
LIMITS = FormLimits()

Chunker = Callable[[bytes], list[bytes]]


# -- building bodies ---------------------------------------------------------------------------


def field(name: str, value: str | bytes, content_type: str | None = None) -> bytes:
    """One text part."""
    head = f'Content-Disposition: form-data; name="{name}"\r\n'
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    data = value.encode() if isinstance(value, str) else value
    return head.encode() + b"\r\n" + data


def file_part(
    name: str, filename: str, data: bytes, content_type: str | None = "text/plain"
) -> bytes:
    """One file part; the filename is sent as raw UTF-8, as browsers do."""
    head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data


def multipart(*parts: bytes, closed: bool = True) -> bytes:
    """A body made of `parts`, ending with the closing boundary unless `closed` is False."""
    delimiter = f"--{BOUNDARY}".encode()
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    return body + delimiter + b"--\r\n" if closed else body


def split(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


@pytest.fixture(params=[1, 7, 0], ids=["1-byte", "7-byte", "whole"])
def chunked(request: pytest.FixtureRequest) -> Chunker:
    """Feed bodies in odd chunk sizes: the parser must not care where chunks split."""
    size: int = request.param
    return lambda body: split(body, size) if size else [body]


@pytest.fixture
def parse(chunked: Chunker) -> Iterator[Callable[..., FormData]]:
    """parse_multipart over chunked input; every form parsed is closed after the test."""
    forms: list[FormData] = []

    def run(body: bytes, limits: FormLimits = LIMITS, content_type: str = CONTENT_TYPE) -> FormData:
        form = parse_multipart(content_type, chunked(body), limits)
        forms.append(form)
        return form

    yield run
    for form in forms:
        form.close()


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> list[UploadFile]:
    """Every UploadFile the parser creates, so tests can check they were closed."""
    created: list[UploadFile] = []

    class RecordedUploadFile(UploadFile):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            created.append(self)

    monkeypatch.setattr(formparsers, "UploadFile", RecordedUploadFile)
    return created


def read(value: object) -> bytes:
    assert isinstance(value, UploadFile)
    return value.read()


# -- urlencoded --------------------------------------------------------------------------------


def test_urlencoded_repeated_names_keep_body_order() -> None:
    form = parse_urlencoded(b"a=1&b=x&a=2", LIMITS)
    assert form.getlist("a") == ["1", "2"]
    assert form.multi_items() == [("a", "1"), ("b", "x"), ("a", "2")]


def test_urlencoded_blank_values_are_kept() -> None:
    form = parse_urlencoded(b"empty=&bare&x=1", LIMITS)
    assert form.multi_items() == [("empty", ""), ("bare", ""), ("x", "1")]


def test_urlencoded_decodes_plus_and_utf8_percent_escapes() -> None:
    form = parse_urlencoded(b"name=Jos%C3%A9+Mar%C3%ADa&raw=caf\xc3\xa9", LIMITS)
    assert form["name"] == "José María"
    assert form["raw"] == "café"


def test_urlencoded_stray_percent_is_kept_literally() -> None:
    assert parse_urlencoded(b"q=100%&r=%zz", LIMITS).multi_items() == [("q", "100%"), ("r", "%zz")]


def test_urlencoded_empty_body_is_an_empty_form() -> None:
    assert len(parse_urlencoded(b"", LIMITS)) == 0


@pytest.mark.parametrize("body", [b"a=%FF%FE", b"a=\xff", b"%C3=1"], ids=["escaped", "raw", "name"])
def test_urlencoded_invalid_utf8_is_400(body: bytes) -> None:
    with pytest.raises(HTTPError) as info:
        parse_urlencoded(body, LIMITS)
    assert info.value.status == 400
    assert "UTF-8" in info.value.detail


def test_urlencoded_too_many_fields_is_413() -> None:
    with pytest.raises(HTTPError) as info:
        parse_urlencoded(b"a=1&b=2&c=3", FormLimits(max_fields=2))
    assert info.value.status == 413
    assert info.value.detail == "Too many form fields (limit 2)"


def test_urlencoded_fields_up_to_the_limit_are_accepted() -> None:
    assert len(parse_urlencoded(b"a=1&b=2", FormLimits(max_fields=2))) == 2


def test_urlencoded_field_over_max_field_size_is_413() -> None:
    with pytest.raises(HTTPError) as info:
        parse_urlencoded(b"short=1&long=" + b"%C3%A9" * 6, FormLimits(max_field_size=10))
    assert info.value.status == 413
    assert "'long' exceeds the limit of 10 bytes" in info.value.detail


def test_urlencoded_field_at_max_field_size_is_accepted() -> None:
    form = parse_urlencoded(b"a=" + b"x" * 10 + b"&b=1", FormLimits(max_field_size=10))
    assert form["a"] == "x" * 10


# -- parse_form dispatch -----------------------------------------------------------------------


def test_form_dispatches_urlencoded_by_media_type_with_parameters() -> None:
    form = parse_form("Application/X-WWW-Form-Urlencoded; charset=utf-8", [b"a=1&", b"b=2"], LIMITS)
    assert form.multi_items() == [("a", "1"), ("b", "2")]


def test_form_dispatches_multipart_by_media_type() -> None:
    form = parse_form(CONTENT_TYPE, [multipart(field("a", "1"))], LIMITS)
    assert form["a"] == "1"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/mixed"])
def test_form_with_another_content_type_is_415(content_type: str) -> None:
    with pytest.raises(HTTPError) as info:
        parse_form(content_type, [b"{}"], LIMITS)
    assert info.value.status == 415
    assert "application/x-www-form-urlencoded or multipart/form-data" in info.value.detail


@pytest.mark.parametrize("content_type", [None, ""])
def test_form_without_content_type_and_empty_body_is_empty(content_type: str | None) -> None:
    assert len(parse_form(content_type, [b"", b""], LIMITS)) == 0


def test_form_without_content_type_but_with_a_body_is_415() -> None:
    with pytest.raises(HTTPError) as info:
        parse_form(None, [b"a=1"], LIMITS)
    assert info.value.status == 415


# -- multipart: what is parsed -----------------------------------------------------------------


def test_multipart_fields_and_files_in_body_order(parse: Callable[..., FormData]) -> None:
    body = multipart(
        field("title", "Hello"),
        file_part("doc", "notes.txt", b"line 1\r\nline 2\r\n"),
        field("tag", "x"),
    )
    form = parse(body)
    assert [name for name, _ in form.multi_items()] == ["title", "doc", "tag"]
    assert form["title"] == "Hello"
    upload = form["doc"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "notes.txt"
    assert upload.content_type == "text/plain"
    assert upload.size == 16
    assert upload.read() == b"line 1\r\nline 2\r\n"


def test_multipart_multi_valued_fields_keep_every_value(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(field("a", "1"), field("b", "x"), field("a", "2"), field("a", "")))
    assert form.getlist("a") == ["1", "2", ""]
    assert form["a"] == "1"


def test_multipart_unicode_field_values_and_names(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(field("città", "naïve ☃ 日本")))
    assert form["città"] == "naïve ☃ 日本"


def test_multipart_unicode_filename(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(file_part("f", "résumé ☃.pdf", b"%PDF")))
    assert form["f"].filename == "résumé ☃.pdf"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs/path/a.txt", "a.txt"),
        ("C:\\\\Users\\\\me\\\\a.txt", "a.txt"),
        ("dir\\\\sub/a.txt", "a.txt"),
        ("..", ""),
    ],
)
def test_multipart_filename_loses_directory_components(
    parse: Callable[..., FormData], sent: str, kept: str
) -> None:
    form = parse(multipart(file_part("f", sent, b"x")))
    assert form["f"].filename == kept  # type: ignore[union-attr]


def test_multipart_filename_star_is_used_when_there_is_no_plain_filename(
    parse: Callable[..., FormData],
) -> None:
    head = b"Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''na%C3%AFve%20a.txt\r\n"
    form = parse(multipart(head + b"\r\ndata"))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "naïve a.txt"
    assert upload.read() == b"data"


def test_multipart_empty_file_is_an_upload_of_size_zero(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(file_part("f", "empty.bin", b"", content_type=None)))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.size == 0
    assert upload.read() == b""
    assert upload.content_type == "application/octet-stream"


def test_multipart_upload_keeps_its_part_headers(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(file_part("f", "a.png", b"\x89PNG", content_type="image/png")))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.headers["Content-Type"] == "image/png"
    assert 'filename="a.png"' in upload.headers["content-disposition"]


def test_multipart_binary_file_with_boundary_like_bytes_is_intact(
    parse: Callable[..., FormData],
) -> None:
    data = bytes(range(256)) + f"\r\n--{BOUNDARY[:-1]}\r\n--".encode() + b"\r\r\n\n"
    assert read(parse(multipart(file_part("f", "b.bin", data)))["f"]) == data


def test_multipart_uploads_are_rewound_after_parsing(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(file_part("a", "a.txt", b"aaa"), file_part("b", "b.txt", b"bbb")))
    assert [read(upload) for upload in form.getlist("a") + form.getlist("b")] == [b"aaa", b"bbb"]


def test_multipart_charset_parameter_of_a_part_is_honoured(parse: Callable[..., FormData]) -> None:
    body = multipart(field("name", "José".encode("latin-1"), "text/plain; charset=iso-8859-1"))
    assert parse(body)["name"] == "José"


def test_multipart_encoded_by_httpx(parse: Callable[..., FormData]) -> None:
    request = httpx.Request(
        "POST",
        "http://testserver/",
        data={"a": ["1", "2"], "note": "ünïcode"},
        files={"upload": ("report.csv", b"x,y\n1,2\n", "text/csv")},
    )
    form = parse(request.read(), content_type=request.headers["content-type"])
    assert form.getlist("a") == ["1", "2"]
    assert form["note"] == "ünïcode"
    upload = form["upload"]
    assert isinstance(upload, UploadFile)
    assert (upload.filename, upload.content_type) == ("report.csv", "text/csv")
    assert upload.read() == b"x,y\n1,2\n"


def test_multipart_quoted_boundary_parameter_is_accepted(parse: Callable[..., FormData]) -> None:
    form = parse(
        multipart(field("a", "1")), content_type=f'multipart/form-data; boundary="{BOUNDARY}"'
    )
    assert form["a"] == "1"


def test_multipart_body_with_only_the_closing_boundary_is_empty(
    parse: Callable[..., FormData],
) -> None:
    assert len(parse(multipart())) == 0


def test_multipart_empty_body_is_an_empty_form(parse: Callable[..., FormData]) -> None:
    assert len(parse(b"")) == 0


def test_multipart_epilogue_after_closing_boundary_is_ignored(
    parse: Callable[..., FormData],
) -> None:
    assert parse(multipart(field("a", "1")) + b"trailing junk")["a"] == "1"


def test_big_file_is_spooled_to_disk() -> None:
    data = b"0123456789abcdef" * (96 * 1024)  # 1.5 MiB, over the 1 MiB spool threshold
    body = multipart(file_part("big", "big.bin", data))
    form = parse_multipart(CONTENT_TYPE, split(body, 64 * 1024 + 3), LIMITS)
    try:
        upload = form["big"]
        assert isinstance(upload, UploadFile)
        assert upload.size == len(data)
        assert upload.file._rolled  # type: ignore[attr-defined]
        assert upload.read() == data
    finally:
        form.close()


def test_reader_parses_chunks_fed_one_at_a_time() -> None:
    reader = MultipartReader(CONTENT_TYPE, LIMITS)
    for chunk in split(multipart(field("a", "1"), file_part("f", "f.txt", b"data")), 5):
        reader.feed(chunk)
    form = reader.finish()
    try:
        assert form["a"] == "1"
        assert read(form["f"]) == b"data"
    finally:
        form.close()


# -- multipart: limits -------------------------------------------------------------------------


def assert_413_and_closed(
    error: pytest.ExceptionInfo[HTTPError], uploads: list[UploadFile], what: str
) -> None:
    assert error.value.status == 413
    assert what in error.value.detail
    assert (
        "exceeds the limit of" in error.value.detail or "exceed the limit of" in error.value.detail
    )
    assert all(upload.file.closed for upload in uploads)


def test_too_many_fields_is_413_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    body = multipart(
        file_part("f", "f.txt", b"x"), field("a", "1"), field("b", "2"), field("c", "3")
    )
    with pytest.raises(HTTPError) as info:
        parse(body, FormLimits(max_fields=2))
    assert len(uploads) == 1
    assert_413_and_closed(info, uploads, "Number of form fields exceeds the limit of 2 items")


def test_fields_up_to_the_limit_are_accepted(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(field("a", "1"), field("b", "2")), FormLimits(max_fields=2))
    assert len(form) == 2


def test_too_many_files_is_413_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    body = multipart(*(file_part("f", f"{i}.txt", b"x") for i in range(3)))
    with pytest.raises(HTTPError) as info:
        parse(body, FormLimits(max_files=2))
    assert len(uploads) == 2
    assert_413_and_closed(info, uploads, "Number of uploaded files exceeds the limit of 2 items")


def test_field_over_max_field_size_is_413_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    body = multipart(file_part("f", "f.txt", b"x"), field("bio", "y" * 11))
    with pytest.raises(HTTPError) as info:
        parse(body, FormLimits(max_field_size=10))
    assert_413_and_closed(info, uploads, "Form field 'bio' exceeds the limit of 10 bytes")


def test_field_at_max_field_size_is_accepted(parse: Callable[..., FormData]) -> None:
    assert (
        parse(multipart(field("bio", "y" * 10)), FormLimits(max_field_size=10))["bio"] == "y" * 10
    )


def test_file_over_max_file_size_is_413_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    body = multipart(file_part("a", "a.txt", b"ok"), file_part("b", "b.bin", b"z" * 101))
    with pytest.raises(HTTPError) as info:
        parse(body, FormLimits(max_file_size=100))
    assert len(uploads) == 2
    assert_413_and_closed(info, uploads, "Uploaded file 'b.bin' exceeds the limit of 100 bytes")


def test_file_at_max_file_size_is_accepted(parse: Callable[..., FormData]) -> None:
    form = parse(multipart(file_part("b", "b.bin", b"z" * 100)), FormLimits(max_file_size=100))
    assert form["b"].size == 100  # type: ignore[union-attr]


def test_part_headers_over_the_limit_are_413_and_close_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    long_header = b"X-Padding: " + b"p" * 300 + b"\r\n"
    body = multipart(file_part("f", "f.txt", b"x"), long_header + field("a", "1"))
    with pytest.raises(HTTPError) as info:
        parse(body, FormLimits(max_part_header_size=256))
    assert_413_and_closed(
        info, uploads, "Headers of a multipart part exceed the limit of 256 bytes"
    )


def test_part_header_line_longer_than_the_library_default_is_accepted(
    parse: Callable[..., FormData],
) -> None:
    long_name = "n" * 8000
    assert parse(multipart(field(long_name, "v")))[long_name] == "v"


def test_huge_part_header_is_refused_without_buffering_it(uploads: list[UploadFile]) -> None:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="'.encode()
    chunks = iter([head, *([b"n" * 65536] * 10_000)])  # 640 MiB if it were all read
    with pytest.raises(HTTPError) as info:
        parse_multipart(CONTENT_TYPE, chunks, LIMITS)
    assert info.value.status == 413
    assert len(list(chunks)) > 9_990


def test_body_source_failing_midway_closes_files(uploads: list[UploadFile]) -> None:
    def chunks() -> Iterator[bytes]:
        yield multipart(file_part("f", "f.txt", b"first part of the upload"), closed=False)
        raise HTTPError(413, "Request body exceeds the limit of 10 bytes")

    with pytest.raises(HTTPError) as info:
        parse_multipart(CONTENT_TYPE, chunks(), LIMITS)
    assert info.value.status == 413
    assert len(uploads) == 1
    assert uploads[0].file.closed


# -- multipart: malformed bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
        "multipart/form-data; boundary=" + "b" * 257,
        "multipart/form-data; boundary=ab\x00cd",
    ],
    ids=["missing", "other-parameter", "empty", "empty-quoted", "too-long", "control-char"],
)
def test_missing_or_invalid_boundary_is_400(content_type: str) -> None:
    with pytest.raises(HTTPError) as info:
        parse_multipart(content_type, [multipart(field("a", "1"))], LIMITS)
    assert info.value.status == 400
    assert "multipart/form-data needs a boundary parameter" in info.value.detail


def test_body_with_a_different_boundary_is_400(parse: Callable[..., FormData]) -> None:
    with pytest.raises(HTTPError) as info:
        parse(multipart(field("a", "1")), content_type="multipart/form-data; boundary=other")
    assert info.value.status == 400


def test_truncated_body_is_400_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    body = multipart(field("a", "1"), file_part("f", "f.txt", b"partial upload"), closed=False)
    with pytest.raises(HTTPError) as info:
        parse(body[:-5])
    assert info.value.status == 400
    assert "closing boundary" in info.value.detail
    assert len(uploads) == 1
    assert uploads[0].file.closed


def test_body_ending_after_a_complete_part_without_closing_boundary_is_400(
    parse: Callable[..., FormData],
) -> None:
    with pytest.raises(HTTPError) as info:
        parse(multipart(field("a", "1"), closed=False))
    assert info.value.status == 400


@pytest.mark.parametrize(
    "head",
    [
        b'Content-Disposition: form-data; filename="f.txt"\r\n',
        b"Content-Disposition: form-data\r\n",
        b"Content-Type: text/plain\r\n",
        b"",
    ],
    ids=["filename-only", "no-parameters", "no-disposition", "no-headers"],
)
def test_part_without_a_name_is_400_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile], head: bytes
) -> None:
    body = multipart(file_part("ok", "ok.txt", b"x"), head + b"\r\nvalue")
    with pytest.raises(HTTPError) as info:
        parse(body)
    assert info.value.status == 400
    assert "no field name" in info.value.detail
    assert uploads and all(upload.file.closed for upload in uploads)


def test_invalid_utf8_field_value_is_400(parse: Callable[..., FormData]) -> None:
    with pytest.raises(HTTPError) as info:
        parse(multipart(field("a", b"\xff\xfe bad")))
    assert info.value.status == 400
    assert "'a' is not valid utf-8 text" in info.value.detail


def test_invalid_utf8_field_name_is_400(parse: Callable[..., FormData]) -> None:
    body = multipart(b'Content-Disposition: form-data; name="\xff"\r\n\r\nv')
    with pytest.raises(HTTPError) as info:
        parse(body)
    assert info.value.status == 400


def test_unknown_charset_is_400(parse: Callable[..., FormData]) -> None:
    with pytest.raises(HTTPError) as info:
        parse(multipart(field("a", "1", "text/plain; charset=no-such-codec")))
    assert info.value.status == 400


def test_non_text_codec_as_charset_is_400(parse: Callable[..., FormData]) -> None:
    with pytest.raises(HTTPError) as info:
        parse(multipart(field("a", "eJwLSS0uAQAEIQGx", "text/plain; charset=zlib")))
    assert info.value.status == 400


def test_garbage_header_line_is_400_and_closes_files(
    parse: Callable[..., FormData], uploads: list[UploadFile]
) -> None:
    body = multipart(file_part("f", "f.txt", b"x"), b"not a header\r\n" + field("a", "1"))
    with pytest.raises(HTTPError) as info:
        parse(body)
    assert info.value.status == 400
    assert "Malformed multipart/form-data body" in info.value.detail
    assert all(upload.file.closed for upload in uploads)


# -- hostile input -----------------------------------------------------------------------------

_PREFIX = f"--{BOUNDARY}\r\n".encode()
_PIECES = [
    _PREFIX,
    f"\r\n--{BOUNDARY}".encode(),
    b"--",
    b"\r\n",
    b"Content-Disposition: form-data; ",
    b'name="a"',
    b'filename="f"',
    b"filename*=utf-8''%C3%A9",
    b"Content-Type: text/plain; charset=latin-1",
    b":",
    b";",
    b'"',
    b"\xff",
]


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda tail: _PREFIX + tail),
        st.lists(st.sampled_from(_PIECES) | st.binary(max_size=8), max_size=40).map(b"".join),
    ),
    chunk_size=st.integers(min_value=1, max_value=64),
)
def test_random_bytes_either_parse_or_raise_http_error(body: bytes, chunk_size: int) -> None:
    small = FormLimits(max_fields=3, max_files=2, max_field_size=16, max_part_header_size=128)
    try:
        form = parse_multipart(CONTENT_TYPE, split(body, chunk_size), small)
    except HTTPError as error:
        assert error.status in (400, 413)
    else:
        form.close()
