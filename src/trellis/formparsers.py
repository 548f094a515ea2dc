"""Form bodies into `FormData`: urlencoded and multipart/form-data, streamed and within limits.

Every failure is an `HTTPError`: 400 for a malformed body, 413 for one over a limit, 415 for a
body that is not a form. Uploaded files already created are closed before the error is raised.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from .datastructures import FormData, FormValue, Headers, UploadFile
from .errors import HTTPError

__all__ = [
    "FormLimits",
    "MultipartReader",
    "parse_form",
    "parse_multipart",
    "parse_urlencoded",
]

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_EXPECTED = f"expected {URLENCODED} or {MULTIPART}"

# RFC 2046 allows 1-70 characters; python-multipart accepts up to 256. Printable ASCII only,
# so the boundary cannot smuggle a CR/LF into the delimiter the parser searches for.
_BOUNDARY = re.compile(rb"[\x20-\x7e]{1,256}")
# `filename*=charset'language'percent-encoded` (RFC 5987), which python-multipart ignores.
_FILENAME_STAR = re.compile(r";\s*filename\*\s*=\s*([^;]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FormLimits:
    """Bounds on what one form body may hold; each one exceeded answers 413."""

    max_fields: int = 1000  # non-file fields
    max_files: int = 100
    max_field_size: int = 1024 * 1024  # bytes of one non-file field value
    max_file_size: int = 100 * 1024 * 1024  # bytes of one uploaded file
    max_part_header_size: int = 16 * 1024  # bytes of all header names and values of one part


DEFAULT_FORM_LIMITS = FormLimits()


def parse_form(
    content_type: str | None,
    chunks: Iterable[bytes],
    limits: FormLimits = DEFAULT_FORM_LIMITS,
) -> FormData:
    """Parse a form body by its media type; 415 when it is neither form encoding."""
    if not content_type:
        if not any(chunks):  # stops at the first non-empty chunk
            return FormData()
        raise HTTPError(
            415, f"The request body has no Content-Type; {_EXPECTED} to read it as a form."
        )
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == URLENCODED:
        return parse_urlencoded(b"".join(chunks), limits)
    if media_type == MULTIPART:
        return parse_multipart(content_type, chunks, limits)
    raise HTTPError(415, f"Unsupported form content type {media_type[:100]!r}; {_EXPECTED}.")


def parse_urlencoded(body: bytes, limits: FormLimits = DEFAULT_FORM_LIMITS) -> FormData:
    """Parse `a=1&b=&a=2` into FormData, blank values kept, in body order, decoded as UTF-8."""
    if not body:
        return FormData()
    try:
        # PERF: one C-level decode and parse_qsl; no per-field Python work on the common path.
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=limits.max_fields,
        )
    except UnicodeDecodeError:
        raise HTTPError(
            400,
            "The form body is not valid UTF-8 (raw or percent-encoded); "
            "send the form encoded as UTF-8.",
        ) from None
    except ValueError:  # parse_qsl's only other error: more than max_num_fields
        raise HTTPError(413, f"Too many form fields (limit {limits.max_fields})") from None
    # PERF: no value can be longer than the body, so short bodies skip the per-field check.
    if len(body) > limits.max_field_size:
        for name, value in pairs:
            if len(value.encode("utf-8")) > limits.max_field_size:
                raise HTTPError(
                    413,
                    f"Form field {_shorten(name)!r} exceeds the limit of "
                    f"{limits.max_field_size} bytes",
                )
    return FormData(pairs)


def parse_multipart(
    content_type: str,
    chunks: Iterable[bytes],
    limits: FormLimits = DEFAULT_FORM_LIMITS,
) -> FormData:
    """Stream a multipart/form-data body into FormData: files spooled to disk, fields bounded."""
    reader = MultipartReader(content_type, limits)
    try:
        for chunk in chunks:
            reader.feed(chunk)
    except BaseException:  # also the body source failing: over the body limit, disconnected
        reader.close()
        raise
    return reader.finish()


class MultipartReader:
    """Incremental multipart/form-data parser: `feed()` each chunk as it arrives, then `finish()`.

    Only the current chunk and the current text field are held in memory; file parts go straight
    into `UploadFile`s. After an error every upload is closed and the reader must not be reused.
    """

    def __init__(self, content_type: str, limits: FormLimits = DEFAULT_FORM_LIMITS) -> None:
        self._limits = limits
        self._items: list[tuple[str, FormValue]] = []
        self._uploads: list[UploadFile] = []
        self._field_count = 0
        self._received = 0
        # The part being parsed.
        self._headers: list[tuple[str, str]] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._header_size = 0
        self._name: str | None = None
        self._upload: UploadFile | None = None
        self._value = bytearray()
        self._charset = "utf-8"
        self._parser = MultipartParser(
            _boundary(content_type),
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
            # SECURITY: part headers are bounded by our own per-part byte count in
            # _on_header_field/_on_header_value (413); the library's per-line cap would refuse
            # long lines first with a parse error, so it is lifted and ours governs.
            max_header_size=sys.maxsize,
        )

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        if not chunk:
            return
        self._received += len(chunk)
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            self.close()
            raise HTTPError(
                400, f"Malformed multipart/form-data body: {exc}. Check how the form is encoded."
            ) from None
        except BaseException:
            self.close()
            raise

    def finish(self) -> FormData:
        """Check the body ended with its closing boundary and return the fields and files."""
        if self._parser.state != MultipartState.END:
            if self._received == 0:  # no body at all: an empty form, as for urlencoded
                return FormData()
            self.close()
            raise HTTPError(
                400,
                "Malformed multipart/form-data body: it ends before the closing boundary "
                "(the upload may have been cut off); send the complete body.",
            )
        for upload in self._uploads:
            upload.seek(0)
        return FormData(self._items)

    def close(self) -> None:
        """Close every upload created so far (done for you when parsing fails)."""
        for upload in self._uploads:
            upload.close()

    # python-multipart callbacks; `data[start:end]` is the piece each one is given.

    def _on_part_begin(self) -> None:
        self._headers = []
        self._header_size = 0
        self._name = None
        self._upload = None
        self._value = bytearray()
        self._charset = "utf-8"

    def _count_header_bytes(self, size: int) -> None:
        self._header_size += size
        if self._header_size > self._limits.max_part_header_size:
            raise HTTPError(
                413,
                f"Headers of a multipart part exceed the limit of "
                f"{self._limits.max_part_header_size} bytes",
            )

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").lower()
        value = self._header_value.decode("latin-1").strip(" \t")
        self._headers.append((name, value))
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        headers = Headers(self._headers)
        disposition = headers.get("content-disposition")
        _, params = parse_options_header(disposition)
        raw_name = params.get(b"name")
        if raw_name is None:
            raise HTTPError(
                400,
                "Malformed multipart/form-data body: a part has no field name; each part needs "
                "a 'Content-Disposition: form-data; name=\"...\"' header.",
            )
        self._name = _decode_name(raw_name)
        content_type: str | None = headers.get("content-type")
        filename = _filename(params.get(b"filename"), disposition)
        limits = self._limits
        if filename is None:
            self._field_count += 1
            if self._field_count > limits.max_fields:
                raise HTTPError(
                    413, f"Number of form fields exceeds the limit of {limits.max_fields} items"
                )
            if content_type:
                charset = parse_options_header(content_type)[1].get(b"charset")
                if charset:
                    self._charset = charset.decode("latin-1")
            return
        if len(self._uploads) >= limits.max_files:
            raise HTTPError(
                413, f"Number of uploaded files exceeds the limit of {limits.max_files} items"
            )
        upload = UploadFile(filename, content_type or "application/octet-stream", headers=headers)
        self._uploads.append(upload)
        self._upload = upload

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        limits = self._limits
        upload = self._upload
        if upload is not None:
            if upload.size + (end - start) > limits.max_file_size:
                raise HTTPError(
                    413,
                    f"Uploaded file {_shorten(upload.filename)!r} exceeds the limit of "
                    f"{limits.max_file_size} bytes",
                )
            upload.write(data[start:end])
            return
        if self._name is None:  # data before any part headers: not a form
            raise HTTPError(400, "Malformed multipart/form-data body: part data without headers.")
        # SECURITY: a text field is held in memory, so it is capped before it grows.
        if len(self._value) + (end - start) > limits.max_field_size:
            raise HTTPError(
                413,
                f"Form field {_shorten(self._name)!r} exceeds the limit of "
                f"{limits.max_field_size} bytes",
            )
        self._value += data[start:end]

    def _on_part_end(self) -> None:
        name = self._name
        if name is None:
            raise HTTPError(400, "Malformed multipart/form-data body: a part has no headers.")
        if self._upload is not None:
            self._items.append((name, self._upload))
            return
        try:
            value = self._value.decode(self._charset)
        except (UnicodeDecodeError, LookupError):
            raise HTTPError(
                400,
                f"Form field {_shorten(name)!r} is not valid {_shorten(self._charset)} text; "
                "send text fields encoded as UTF-8.",
            ) from None
        self._items.append((name, value))


def _boundary(content_type: str) -> bytes:
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary or not _BOUNDARY.fullmatch(boundary):
        raise HTTPError(
            400,
            "multipart/form-data needs a boundary parameter: the Content-Type header has "
            "none or an invalid one (expected up to 256 printable ASCII characters).",
        )
    return boundary


def _decode_name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(
            400,
            "Malformed multipart/form-data body: a field name is not valid UTF-8; "
            "send field names encoded as UTF-8.",
        ) from None


def _filename(raw: bytes | None, disposition: str | None) -> str | None:
    """The part's filename without any directory part, or None when the part is not a file."""
    if raw is not None:
        # An undecodable filename is only a label, so it is repaired, not refused.
        name = raw.decode("utf-8", errors="replace")
    elif disposition and "filename*" in disposition.lower():
        extended = _extended_filename(disposition)
        if extended is None:
            return None
        name = extended
    else:
        return None
    # SECURITY: clients may send "C:\\Users\\x\\a.txt" or "../../etc/passwd"; keep the last
    # component only, so code that (unwisely) joins it to a directory stays inside it.
    name = name.replace("\\", "/").rpartition("/")[2]
    return "" if name in {".", ".."} else name


def _extended_filename(disposition: str) -> str | None:
    """Decode `filename*=utf-8''na%C3%AFve.txt`; None when it is not in that form."""
    match = _FILENAME_STAR.search(disposition)
    if match is None:
        return None
    charset, _, rest = match.group(1).strip().strip('"').partition("'")
    _language, quote, encoded = rest.partition("'")
    if not quote:
        return None
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except LookupError:
        return unquote(encoded, encoding="utf-8", errors="replace")


def _shorten(text: str, limit: int = 64) -> str:
    """Client-supplied text cut short for an error message."""
    return text if len(text) <= limit else text[:limit] + "..."
