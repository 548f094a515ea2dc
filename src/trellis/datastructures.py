"""Containers shared by requests and responses: headers, multi-valued mappings, uploaded files."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from os import PathLike
from tempfile import SpooledTemporaryFile
from typing import IO, Any, TypeVar, overload

T = TypeVar("T")

# SECURITY: a header name or value holding one of these could split the response (CRLF injection).
_FORBIDDEN_HEADER_CHARS = frozenset("\r\n\0")


def check_header(name: str, value: str) -> None:
    """Refuse a header whose name or value could inject another header or end the head early."""
    if _FORBIDDEN_HEADER_CHARS.intersection(name) or _FORBIDDEN_HEADER_CHARS.intersection(value):
        raise ValueError(
            f"Header {name!r} contains a CR, LF or NUL character; "
            "header values must be a single line (encode or strip user input first)."
        )
    if not name or " " in name or ":" in name:
        raise ValueError(f"Invalid header name {name!r}: it must be a non-empty token without ':'.")
    if not value.isascii():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"Header {name!r} has characters outside Latin-1; percent-encode the value "
                "(urllib.parse.quote) or use an RFC 8187 encoded form."
            ) from None


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued, read-only request headers.

    Built from (lower-case name, value) pairs; the name index is made on first lookup.
    """

    __slots__ = ("_index", "_list")

    def __init__(self, raw: list[tuple[str, str]] | None = None) -> None:
        self._list: list[tuple[str, str]] = raw if raw is not None else []
        self._index: dict[str, str] | None = None

    def _lookup(self) -> dict[str, str]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self._list:
                index.setdefault(name, value)
            self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        return self._lookup()[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of header `name` (any case), or `default`."""
        return self._lookup().get(name.lower(), default)

    def getlist(self, name: str) -> list[str]:
        """Every value sent for header `name`, in order."""
        name = name.lower()
        return [value for key, value in self._list if key == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def raw(self) -> list[tuple[str, str]]:
        """All (name, value) pairs in the order received, duplicates kept."""
        return list(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class MutableHeaders:
    """Response headers: a case-insensitive view over a list of (name, value) pairs.

    Every value set here is checked for CR/LF/NUL so user input cannot split the response.
    """

    __slots__ = ("_list",)

    def __init__(self, raw: list[tuple[str, str]]) -> None:
        self._list = raw

    def __getitem__(self, name: str) -> str:
        name = name.lower()
        for key, value in self._list:
            if key == name:
                return value
        raise KeyError(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header `name`, or `default`."""
        try:
            return self[name]
        except KeyError:
            return default

    def getlist(self, name: str) -> list[str]:
        """Every value of header `name`, in order."""
        name = name.lower()
        return [value for key, value in self._list if key == name]

    def __setitem__(self, name: str, value: str) -> None:
        check_header(name, value)
        name = name.lower()
        self._list[:] = [(k, v) for k, v in self._list if k != name]
        self._list.append((name, value))

    def setdefault(self, name: str, value: str) -> str:
        """Set `name` to `value` unless it is already present; return the value in force."""
        current = self.get(name)
        if current is None:
            self[name] = value
            return value
        return current

    def add(self, name: str, value: str) -> None:
        """Append a value, keeping earlier ones (for headers such as Set-Cookie or Vary)."""
        check_header(name, value)
        self._list.append((name.lower(), value))

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        self._list[:] = [(k, v) for k, v in self._list if k != name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lower()
        return any(key == name for key, _ in self._list)

    def items(self) -> list[tuple[str, str]]:
        """All (name, value) pairs, duplicates kept."""
        return list(self._list)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._list)

    def __len__(self) -> int:
        return len(self._list)

    def __repr__(self) -> str:
        return f"MutableHeaders({self._list!r})"


class MultiDict(Mapping[str, T]):
    """A read-only mapping where a key may carry several values (query strings, forms).

    `md[key]` and `md.get(key)` give the first value; `md.getlist(key)` gives them all.
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, items: Iterable[tuple[str, T]] = ()) -> None:
        self._list: list[tuple[str, T]] = list(items)
        self._dict: dict[str, T] = {}
        for key, value in self._list:
            self._dict.setdefault(key, value)

    def __getitem__(self, key: str) -> T:
        return self._dict[key]

    @overload
    def get(self, key: str) -> T | None: ...
    @overload
    def get(self, key: str, default: Any) -> Any: ...
    @overload
    def get(self, key: str, default: Any, type: Callable[[T], Any]) -> Any: ...

    def get(self, key: str, default: Any = None, type: Callable[[T], Any] | None = None) -> Any:
        """The first value for `key`, converted by `type` if given; `default` when absent or bad."""
        try:
            value = self._dict[key]
        except KeyError:
            return default
        if type is None:
            return value
        try:
            return type(value)
        except (ValueError, TypeError):
            return default

    def getlist(self, key: str, type: Callable[[T], Any] | None = None) -> list[Any]:
        """Every value for `key`; with `type`, the values that convert (others are dropped)."""
        values = [value for k, value in self._list if k == key]
        if type is None:
            return values
        converted = []
        for value in values:
            try:
                converted.append(type(value))
            except (ValueError, TypeError):
                continue
        return converted

    def multi_items(self) -> list[tuple[str, T]]:
        """All (key, value) pairs in their original order."""
        return list(self._list)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class UploadFile:
    """A file sent in a multipart form, held in memory up to a threshold and then on disk."""

    def __init__(
        self,
        filename: str,
        content_type: str = "application/octet-stream",
        headers: Headers | None = None,
        spool_max_size: int = 1024 * 1024,
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = headers if headers is not None else Headers()
        self.file: IO[bytes] = SpooledTemporaryFile(max_size=spool_max_size)  # noqa: SIM115
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append bytes while the upload is being parsed."""
        self.file.write(data)
        self.size += len(data)

    def read(self, size: int = -1) -> bytes:
        """Read from the current position (call `seek(0)` to start over)."""
        return self.file.read(size)

    def seek(self, offset: int) -> None:
        """Move the read position."""
        self.file.seek(offset)

    def save(self, destination: str | PathLike[str]) -> None:
        """Copy the whole upload to `destination` (a path you chose, never the filename)."""
        self.file.seek(0)
        with open(destination, "wb") as out:
            shutil.copyfileobj(self.file, out)
        self.file.seek(0)

    def close(self) -> None:
        """Release the temporary file."""
        self.file.close()

    def __repr__(self) -> str:
        return (
            f"UploadFile(filename={self.filename!r}, content_type={self.content_type!r}, "
            f"size={self.size})"
        )


FormValue = str | UploadFile


class FormData(MultiDict[FormValue]):
    """Parsed form fields and files; `close()` releases uploaded files' temporary storage."""

    def close(self) -> None:
        """Close every uploaded file."""
        for _, value in self._list:
            if isinstance(value, UploadFile):
                value.close()
