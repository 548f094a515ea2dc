"""The one table of media types: file extensions and format names to Content-Type values.

Static files, image helpers, renderers and body parsers all look types up here, so a type and its
charset are decided in one place. Text types carry `; charset=utf-8`; JSON does not (RFC 8259
defines it as UTF-8 and gives it no charset parameter).
"""

from __future__ import annotations

import mimetypes
import os

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "content_type",
    "format_for",
    "guess_media_type",
    "media_type_for_format",
]

# (extension, media type, format name or None). One row per extension; the first row naming a
# format is that format's canonical type.
# PERF: consulted before the platform's `mimetypes`, so web asset types cost one dict lookup.
_TABLE: tuple[tuple[str, str, str | None], ...] = (
    (".html", "text/html", "html"),
    (".htm", "text/html", None),
    (".css", "text/css", "css"),
    (".js", "text/javascript", "js"),
    (".mjs", "text/javascript", None),
    (".json", "application/json", "json"),
    (".map", "application/json", None),
    (".webmanifest", "application/manifest+json", None),
    (".yaml", "application/yaml", "yaml"),
    (".yml", "application/yaml", None),
    (".xml", "application/xml", "xml"),
    (".csv", "text/csv", "csv"),
    (".txt", "text/plain", "text"),
    (".md", "text/markdown", "markdown"),
    (".svg", "image/svg+xml", "svg"),
    (".png", "image/png", "png"),
    (".jpg", "image/jpeg", "jpeg"),
    (".jpeg", "image/jpeg", None),
    (".gif", "image/gif", "gif"),
    (".webp", "image/webp", "webp"),
    (".avif", "image/avif", "avif"),
    (".ico", "image/vnd.microsoft.icon", None),
    (".pdf", "application/pdf", "pdf"),
    (".woff", "font/woff", None),
    (".woff2", "font/woff2", None),
    (".ttf", "font/ttf", None),
    (".otf", "font/otf", None),
    (".wasm", "application/wasm", None),
    (".mp4", "video/mp4", None),
    (".webm", "video/webm", None),
    (".mp3", "audio/mpeg", None),
)

EXTENSIONS: dict[str, str] = {ext: media for ext, media, _ in _TABLE}
FORMATS: dict[str, str] = {}
for _ext, _media, _format in _TABLE:
    if _format is not None:
        FORMATS.setdefault(_format, _media)
FORMATS["sse"] = "text/event-stream"

# Other spellings clients send, mapped to the type we answer with.
ALIASES: dict[str, str] = {
    "application/x-yaml": "application/yaml",
    "text/yaml": "application/yaml",
    "text/x-yaml": "application/yaml",
    "text/xml": "application/xml",
}

# Non-text types that are text all the same and need a charset to be read right.
_CHARSET_TYPES = frozenset({"application/xml", "image/svg+xml", "application/yaml"})

# A compressed file ("app.css.gz") is served as the archive it is, never as its inner type: a
# gzip body labelled text/css would be garbage to the browser.
_ENCODING_MEDIA_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "br": "application/x-brotli",
    "compress": "application/x-compress",
}


def content_type(media_type: str) -> str:
    """`media_type` as a Content-Type value: text types get `; charset=utf-8`."""
    if media_type.startswith("text/") or media_type in _CHARSET_TYPES:
        return f"{media_type}; charset=utf-8"
    return media_type


def media_type_for_format(name: str) -> str:
    """The media type of a format name such as "yaml" or "png" (KeyError if unknown)."""
    return FORMATS[name.lower()]


def format_for(media_type: str) -> str | None:
    """The format name of a media type ("application/yaml" -> "yaml"), or None."""
    media_type = ALIASES.get(media_type, media_type)
    for name, media in FORMATS.items():
        if media == media_type:
            return name
    return None


def guess_media_type(filename: str) -> str:
    """The Content-Type for `filename` by extension, with the charset where it belongs.

    Unknown extensions are `application/octet-stream`, which browsers download rather than render.
    """
    _, extension = os.path.splitext(filename)
    media_type = EXTENSIONS.get(extension.lower())
    if media_type is None:
        guessed, encoding = mimetypes.guess_type(filename, strict=False)
        if encoding is not None:
            return _ENCODING_MEDIA_TYPES.get(encoding, "application/octet-stream")
        media_type = guessed or "application/octet-stream"
    return content_type(media_type)
