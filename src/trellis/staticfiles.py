"""Serving files from disk: `FileResponse` for one file, `StaticFiles` for a directory of assets.

`FileResponse` streams the file in chunks and answers conditional requests (304), byte ranges (206,
416) and precondition failures (412) in `finalize`, once the request is known. `StaticFiles` maps a
URL remainder to a file below one directory and refuses every path that could lead outside it.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from .errors import ConfigurationError, HTTPError
from .mediatypes import guess_media_type
from .responses import Response

if TYPE_CHECKING:
    from .requests import Request

__all__ = ["FileResponse", "StaticFiles", "format_content_disposition", "guess_media_type"]

# SECURITY: the quoted `filename="..."` fallback keeps only characters every user agent reads
# literally; quotes, backslashes, CR/LF, ';' and '%' (which some agents percent-decode) become '_'.
_UNSAFE_FALLBACK_CHARS = re.compile(r"[^A-Za-z0-9 ._()+!#$&~@=,'-]")
# RFC 5987 attr-char, minus the alphanumerics and "_.-~" that `quote` always leaves alone.
_ATTR_CHARS = "!#$&+^`|"


def format_content_disposition(disposition: str, filename: str) -> str:
    """A Content-Disposition value naming `filename` (RFC 6266), safe for any input.

    Non-ASCII names are sent as `filename*=UTF-8''...` with an ASCII `filename` fallback.
    """
    decomposed = unicodedata.normalize("NFKD", filename)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    fallback = _UNSAFE_FALLBACK_CHARS.sub("_", ascii_name).strip(" .") or "download"
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
    return value


class _RangeNotSatisfiable(Exception):
    """The Range header is well formed but asks for bytes the file does not have."""


_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_ENTITY_TAG = re.compile(r'(W/)?("[^"]*")')
# Longer digit strings are beyond any file size; parsing them is pointless (and Python refuses
# more than 4300 digits), so they stand for "huge".
_MAX_DIGITS = 18
_HUGE = 1 << 63


def _to_int(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else _HUGE


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions asked for, or None to ignore the header and send it all.

    Only one range is honoured: multiple ranges or anything malformed mean a plain 200, which
    RFC 9110 allows. Raises `_RangeNotSatisfiable` for a single range outside the file.
    """
    unit, _, range_set = header.partition("=")
    if unit.strip().lower() != "bytes" or size == 0:
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text:
            return None
        suffix = _to_int(last_text)
        if suffix == 0:
            raise _RangeNotSatisfiable
        return max(size - suffix, 0), size - 1
    first = _to_int(first_text)
    last = _to_int(last_text) if last_text else _HUGE
    if last < first:
        return None
    if first >= size:
        raise _RangeNotSatisfiable
    return first, min(last, size - 1)


def _entity_tags(header: str) -> list[tuple[bool, str]]:
    """The (is_weak, quoted opaque tag) pairs of an If-Match/If-None-Match list."""
    return [(bool(weak), tag) for weak, tag in _ENTITY_TAG.findall(header)]


def _parse_http_date(value: str) -> int | None:
    """An HTTP date as a POSIX timestamp, or None if it is not a valid date."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _read_file(path: str, start: int, length: int, chunk_size: int) -> Iterator[bytes]:
    """Yield `length` bytes of `path` from `start`; the file is opened on the first `next()`.

    The `with` block closes the file when the generator ends, or when the server calls `close()`
    on it after the client went away.
    """
    if length <= 0:
        return
    with open(path, "rb") as file:
        if start:
            file.seek(start)
        remaining = length
        while remaining > 0:
            chunk = file.read(min(chunk_size, remaining))
            if not chunk:
                # Content-Length is already sent: fail loudly so the server drops the connection
                # instead of leaving the client waiting for bytes that will never come.
                raise OSError(f"{path} shrank while it was being sent ({remaining} bytes short).")
            remaining -= len(chunk)
            yield chunk


_REPRESENTATION_HEADERS = ("content-type", "content-length", "content-disposition")


class FileResponse(Response):
    """A file from disk, streamed in chunks, with Last-Modified, ETag and byte-range support.

    A missing path or a directory is a 404. `filename` adds a Content-Disposition header
    (`attachment` by default, so browsers download; `inline` to display). Conditional requests
    and ranges are answered in `finalize`, for GET and HEAD only.
    """

    __slots__ = ("chunk_size", "etag", "last_modified", "length", "mtime", "path", "size", "start")

    def __init__(
        self,
        path: str | os.PathLike[str],
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
        content_disposition: Literal["attachment", "inline"] = "attachment",
        chunk_size: int = 64 * 1024,
    ) -> None:
        if content_disposition not in ("attachment", "inline"):
            raise ValueError(
                f"content_disposition must be 'attachment' or 'inline', "
                f"got {content_disposition!r}."
            )
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be a positive number of bytes, got {chunk_size}.")
        self.path = os.fspath(path)
        try:
            info = os.stat(self.path)
        except (OSError, ValueError):
            # SECURITY: the detail never names the path; the client learns only that it is absent.
            raise HTTPError(404) from None
        if not stat.S_ISREG(info.st_mode):
            # Directories, FIFOs and devices (an endless /dev/zero) are never served.
            raise HTTPError(404)
        super().__init__(
            b"", status, headers, media_type or guess_media_type(filename or self.path)
        )
        self.size = info.st_size
        self.mtime = int(info.st_mtime)
        self.chunk_size = chunk_size
        self.start = 0
        self.length = self.size
        view = self.headers
        view["content-length"] = str(self.size)
        self.last_modified = view.setdefault("last-modified", formatdate(self.mtime, usegmt=True))
        self.etag = view.setdefault("etag", f'"{info.st_mtime_ns:x}-{info.st_size:x}"')
        view.setdefault("accept-ranges", "bytes")
        if filename is not None:
            view.setdefault(
                "content-disposition", format_content_disposition(content_disposition, filename)
            )
        self.stream = _read_file(self.path, 0, self.size, chunk_size)

    def finalize(self, request: Request, secure_cookies: bool) -> None:
        """Answer preconditions (412, 304) and the Range header (206, 416) as RFC 9110 says."""
        super().finalize(request, secure_cookies)
        method = request.method
        if self.status != 200 or method not in ("GET", "HEAD"):
            return
        headers = request.headers
        # RFC 9110 section 13.2.2 fixes the order in which the preconditions are evaluated.
        if_match = headers.get("if-match")
        if if_match is not None:
            if not self._matches_strongly(if_match):
                self._without_content(412)
                return
        else:
            since = headers.get("if-unmodified-since")
            date = _parse_http_date(since) if since is not None else None
            if date is not None and self.mtime > date:
                self._without_content(412)
                return
        if_none_match = headers.get("if-none-match")
        if if_none_match is not None:
            if self._matches_weakly(if_none_match):
                self._without_content(304)
                return
        else:
            since = headers.get("if-modified-since")
            date = _parse_http_date(since) if since is not None else None
            if date is not None and self.mtime <= date:
                self._without_content(304)
                return
        range_header = headers.get("range")
        if range_header is None or method != "GET":  # RFC 9110 defines ranges for GET only.
            return
        if_range = headers.get("if-range")
        if if_range is not None and not self._if_range_matches(if_range):
            return
        try:
            byte_range = _parse_range(range_header, self.size)
        except _RangeNotSatisfiable:
            self._without_content(416)
            self.raw_headers.append(("content-range", f"bytes */{self.size}"))
            return
        if byte_range is None:
            return
        first, last = byte_range
        self.status = 206
        self.start = first
        self.length = last - first + 1
        view = self.headers
        view["content-length"] = str(self.length)
        view["content-range"] = f"bytes {first}-{last}/{self.size}"
        self.stream = _read_file(self.path, self.start, self.length, self.chunk_size)

    def _matches_strongly(self, header: str) -> bool:
        if header.strip() == "*":
            return True
        return any(not weak and tag == self.etag for weak, tag in _entity_tags(header))

    def _matches_weakly(self, header: str) -> bool:
        if header.strip() == "*":
            return True
        ours = self.etag.removeprefix("W/")
        return any(tag == ours for _, tag in _entity_tags(header))

    def _if_range_matches(self, value: str) -> bool:
        value = value.strip()
        if value.startswith(('"', "W/")):
            # A weak tag never matches: If-Range needs the strong comparison.
            return value == self.etag and not value.startswith("W/")
        date = _parse_http_date(value)
        return date is not None and date == self.mtime

    def _without_content(self, status: int) -> None:
        """Turn the response into a bodiless `status`, keeping the validators and cache headers."""
        self.status = status
        self.stream = None
        self.body = b""
        self.length = 0
        self.raw_headers[:] = [
            (name, value) for name, value in self.raw_headers if name not in _REPRESENTATION_HEADERS
        ]


class StaticFiles:
    """Serve the files below `directory`, and nothing outside it.

    `max_age=0` sends `Cache-Control: no-cache` (browsers revalidate with the ETag every time and
    get a cheap 304); a positive value sends `public, max-age=N`, for fingerprinted asset names.
    Hidden files (a segment starting with '.') are refused unless `allow_hidden=True`. With
    `html=True` a directory serves its `index.html`. Symlinks pointing outside the directory are
    refused unless `follow_symlinks=True`.
    """

    __slots__ = ("allow_hidden", "cache_control", "directory", "follow_symlinks", "html", "root")

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_age: int = 0,
        follow_symlinks: bool = False,
        allow_hidden: bool = False,
        html: bool = False,
    ) -> None:
        self.directory = os.fspath(directory)
        # PERF: the root's real path is resolved once here, not on every request.
        self.root = os.path.realpath(self.directory)
        if not os.path.isdir(self.root):
            raise ConfigurationError(
                f"Static files directory {self.directory!r} does not exist or is not a directory "
                f"(resolved to {self.root!r}); create it or pass the right path."
            )
        if max_age < 0:
            raise ConfigurationError(
                f"max_age must be 0 (always revalidate) or a positive number of seconds, "
                f"got {max_age}."
            )
        self.cache_control = "no-cache" if max_age == 0 else f"public, max-age={max_age}"
        self.follow_symlinks = follow_symlinks
        self.allow_hidden = allow_hidden
        self.html = html

    def response(self, path: str) -> FileResponse:
        """The file for `path`, the percent-decoded URL remainder after the mount prefix.

        Raises `HTTPError(404)` for anything that is not a servable file below the directory.
        With `html=True`, a directory named without its trailing slash answers 308 to the slashed
        URL, so the index page's relative links resolve inside it.
        """
        segments = self._segments(path)
        target = os.path.join(self.root, *segments)
        if not self.follow_symlinks:
            target = self._inside_root(target)
        try:
            info = os.stat(target)
        except (OSError, ValueError):
            raise HTTPError(404) from None
        if stat.S_ISDIR(info.st_mode):
            if not self.html:
                raise HTTPError(404)
            if path and not path.endswith("/"):
                location = quote(segments[-1]) + "/"
                raise HTTPError(308, headers={"location": location})
            index = os.path.join(target, "index.html")
            target = index if self.follow_symlinks else self._inside_root(index)
            name = "index.html"
        elif path.endswith("/"):
            raise HTTPError(404)  # "site.css/" names a directory that is not there.
        else:
            name = segments[-1]
        return FileResponse(
            target,
            headers={"cache-control": self.cache_control},
            media_type=guess_media_type(name),
        )

    def _segments(self, path: str) -> list[str]:
        """The path's segments, after refusing every form that could name something outside."""
        # SECURITY: NUL truncates paths in C APIs; a backslash is a separator on Windows, so
        # "a\\..\\b" would climb out there even though it is one harmless segment here.
        if "\0" in path or "\\" in path:
            raise HTTPError(404)
        # SECURITY: an absolute path would make os.path.join drop the root entirely.
        if path.startswith("/"):
            raise HTTPError(404)
        stripped = path.removesuffix("/")
        segments = stripped.split("/") if stripped else []
        for segment in segments:
            # SECURITY: "" (from "a//b"), "." and ".." are refused outright rather than
            # normalised, so no spelling of a path can climb out of the root.
            if segment in ("", ".", ".."):
                raise HTTPError(404)
            if segment.startswith(".") and not self.allow_hidden:
                raise HTTPError(404)  # .env, .git/config, .htpasswd
            # SECURITY: on Windows "C:x" joins as a drive-relative path outside the root, and
            # "name:stream" opens an NTFS alternate data stream.
            if ":" in segment and (os.name == "nt" or _is_drive(segment)):
                raise HTTPError(404)
        return segments

    def _inside_root(self, target: str) -> str:
        """`target`'s real path, if it lies inside the root; 404 otherwise."""
        # SECURITY: the lexical checks cannot see symlinks; resolving them and comparing with
        # the root catches a link (to a file or a directory) that points outside. The real path
        # is what gets opened, so the check and the open see the same file.
        real = os.path.realpath(target)
        if real != self.root and not real.startswith(self.root.rstrip(os.sep) + os.sep):
            raise HTTPError(404)
        return real

    def __repr__(self) -> str:
        return f"StaticFiles({self.directory!r}, cache_control={self.cache_control!r})"


def _is_drive(segment: str) -> bool:
    return len(segment) >= 2 and segment[1] == ":" and segment[0].isascii() and segment[0].isalpha()
