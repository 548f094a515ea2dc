"""Specification of trellis.mediatypes: the one table of extensions, formats and types."""

from __future__ import annotations

import pytest

from trellis.mediatypes import (
    EXTENSIONS,
    FORMATS,
    content_type,
    format_for,
    guess_media_type,
    media_type_for_format,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("page.html", "text/html; charset=utf-8"),
        ("data.json", "application/json"),
        ("data.yaml", "application/yaml; charset=utf-8"),
        ("data.yml", "application/yaml; charset=utf-8"),
        ("feed.xml", "application/xml; charset=utf-8"),
        ("rows.csv", "text/csv; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("photo.PNG", "image/png"),
        ("archive.tar.gz", "application/gzip"),
        ("no-extension", "application/octet-stream"),
    ],
)
def test_guess_media_type_by_extension(name: str, expected: str) -> None:
    assert guess_media_type(name) == expected


@pytest.mark.parametrize(
    ("fmt", "media"),
    [
        ("json", "application/json"),
        ("yaml", "application/yaml"),
        ("xml", "application/xml"),
        ("csv", "text/csv"),
        ("html", "text/html"),
        ("png", "image/png"),
        ("svg", "image/svg+xml"),
        ("sse", "text/event-stream"),
    ],
)
def test_formats_map_to_their_canonical_type_and_back(fmt: str, media: str) -> None:
    assert media_type_for_format(fmt) == media
    assert format_for(media) == fmt


def test_aliases_map_to_the_canonical_format() -> None:
    assert format_for("text/yaml") == "yaml"
    assert format_for("text/xml") == "xml"
    assert format_for("application/x-unknown") is None


def test_charset_is_added_to_text_types_only() -> None:
    assert content_type("text/plain") == "text/plain; charset=utf-8"
    assert content_type("application/json") == "application/json"
    assert content_type("image/png") == "image/png"


def test_every_format_type_is_also_an_extension_type() -> None:
    assert set(FORMATS.values()) - {"text/event-stream"} <= set(EXTENSIONS.values())


def test_static_files_use_this_table() -> None:
    from trellis import staticfiles

    assert staticfiles.guess_media_type is guess_media_type
