"""Data formats other than JSON: YAML, XML and CSV, written safely and (YAML, XML) read safely.

SECURITY: YAML is read with a safe loader that also refuses aliases (an alias "bomb" is tiny
on the wire and exponential once walked); XML is read only through defusedxml with DTDs,
entities and external references refused; CSV cells that a spreadsheet would run as a formula
are neutralised. Output never trusts keys or values: XML element names are sanitised and every
text escaped.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
import yaml
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

from .errors import HTTPError
from .responses import dump_json

__all__ = [
    "FormatError",
    "dump_csv",
    "dump_xml",
    "dump_yaml",
    "is_tabular",
    "load_xml",
    "load_yaml",
    "to_plain",
]


class FormatError(HTTPError):
    """A request body that is not a valid, safe document of its declared type (400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


def to_plain(data: Any) -> Any:
    """`data` as plain JSON-like values (dict, list, str, int, float, bool, None).

    Models, dataclasses, datetimes, UUIDs and the like become what the JSON renderer would
    make of them, so every format shows the same values.
    """
    if type(data) in (str, int, float, bool) or data is None:
        return data
    return orjson.loads(dump_json(data))


def is_tabular(data: Any) -> bool:
    """True for a list of records (mappings, models, dataclasses) or of rows (lists, tuples)."""
    if not isinstance(data, list | tuple):
        return False
    return all(
        isinstance(row, Mapping | list | tuple)
        or dataclasses.is_dataclass(row)
        or hasattr(row, "model_dump")
        for row in data
    )


# -- YAML ------------------------------------------------------------------------------------

_YamlDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: Any) -> bytes:
    """`data` as a YAML document, written with the safe dumper (no Python-specific tags)."""
    text = yaml.dump(
        to_plain(data), Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, width=1000
    )
    return str(text).encode()


class _SafeLoaderWithoutAliases(yaml.SafeLoader):
    """The safe loader, refusing anchors' aliases (`*name`), the means of YAML "bombs"."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(body: bytes) -> Any:
    """Parse a YAML request body with the safe loader; 400 with the reason when it fails.

    Tags naming Python objects (`!!python/object`) and aliases are refused.
    """
    try:
        # The safe loader builds only plain data; `yaml.load` with it is `safe_load` minus aliases.
        return yaml.load(body, Loader=_SafeLoaderWithoutAliases)  # noqa: S506
    except yaml.YAMLError as exc:
        raise FormatError(f"The request body is not acceptable YAML: {_one_line(exc)}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise FormatError(f"The request body is not acceptable YAML: {exc}") from None


# -- XML -------------------------------------------------------------------------------------

XML_ROOT = "response"
_ITEM = "item"
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9._-]")
# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _element_name(key: str) -> tuple[str, str | None]:
    """A safe element name for `key`, and the key itself when the name had to change."""
    if _NAME_RE.match(key) and not key.lower().startswith("xml"):
        return key, None
    name = "_" + _NAME_BAD_CHARS.sub("_", key)
    return name, key


def _text(value: str) -> str:
    return escape(_INVALID_XML_CHARS.sub("\ufffd", value))


def _scalar_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _text(str(value))


def _write_xml(parts: list[str], name: str, value: Any, key: str | None) -> None:
    attrs = f" key={quoteattr(_INVALID_XML_CHARS.sub(chr(0xFFFD), key))}" if key is not None else ""
    if isinstance(value, dict):
        if not value:
            parts.append(f'<{name}{attrs} type="dict"/>')
            return
        parts.append(f"<{name}{attrs}>")
        for child_key, child in value.items():
            child_name, original = _element_name(str(child_key))
            _write_xml(parts, child_name, child, original)
        parts.append(f"</{name}>")
    elif isinstance(value, list):
        parts.append(f'<{name}{attrs} type="list">')
        for child in value:
            _write_xml(parts, _ITEM, child, None)
        parts.append(f"</{name}>")
    elif value is None:
        parts.append(f'<{name}{attrs} null="true"/>')
    else:
        parts.append(f"<{name}{attrs}>{_scalar_text(value)}</{name}>")


def dump_xml(data: Any, root: str = XML_ROOT) -> bytes:
    """`data` as a well-formed XML document under `<root>`.

    Dict keys become element names (sanitised; the original key is kept in a `key` attribute
    when it had to change), list items are `<item>` elements, None is `null="true"`.
    Characters XML cannot carry are replaced with U+FFFD.
    """
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n']
    name, original = _element_name(root)
    _write_xml(parts, name, to_plain(data), original)
    return "".join(parts).encode()


def _read_xml(element: Any) -> Any:
    children = list(element)
    kind = element.get("type")
    if element.get("null") == "true":
        return None
    if kind == "list":
        return [_read_xml(child) for child in children]
    if kind == "dict":
        return {}
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        key = child.get("key") or child.tag
        if key in result:
            # Repeated elements are a list, as people write XML by hand.
            existing = result[key]
            if not isinstance(existing, _Repeated):
                existing = result[key] = _Repeated([existing])
            existing.append(_read_xml(child))
        else:
            result[key] = _read_xml(child)
    return {k: list(v) if isinstance(v, _Repeated) else v for k, v in result.items()}


class _Repeated(list[Any]):
    pass


def load_xml(body: bytes) -> Any:
    """Parse an XML request body into plain data; 400 for anything unsafe or malformed.

    SECURITY: defusedxml with DTDs forbidden, so entity expansion ("billion laughs") and external
    entities or DTDs are refused before anything is expanded or fetched.
    """
    try:
        root = SafeElementTree.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise FormatError(
            f"The XML body was refused: {type(exc).__name__} (DTDs, entities and external "
            "references are not accepted)."
        ) from None
    except SafeElementTree.ParseError as exc:
        raise FormatError(f"The request body is not well-formed XML: {exc}.") from None
    try:
        return _read_xml(root)
    except RecursionError:
        raise FormatError("The XML body is nested too deeply.") from None


# -- CSV -------------------------------------------------------------------------------------

# SECURITY: a spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def dump_csv(data: Any) -> bytes:
    """Tabular `data` as CSV: a list of records gets a header row of their keys (first seen
    order); a list of rows is written as is. Nested values are written as JSON text.
    """
    rows = to_plain(list(data))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if rows and all(isinstance(row, dict) for row in rows):
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        writer.writerow([_cell(str(name)) for name in columns])
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in columns])
    else:
        for row in rows:
            cells = row.values() if isinstance(row, dict) else row
            writer.writerow([_cell(value) for value in cells])
    return out.getvalue().encode()


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
