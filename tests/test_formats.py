"""Specification of trellis.formats: YAML, XML and CSV written safely, YAML and XML read safely."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import uuid
from xml.etree import ElementTree

import pydantic
import pytest
import yaml

from trellis.formats import (
    FormatError,
    dump_csv,
    dump_xml,
    dump_yaml,
    is_tabular,
    load_xml,
    load_yaml,
    to_plain,
)

RECORD = {"name": "Ada", "age": 36, "tags": ["math", "engines"], "ok": True, "note": None}


class Book(pydantic.BaseModel):
    title: str
    year: int
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


# -- to_plain --------------------------------------------------------------------------------


def test_to_plain_turns_models_dataclasses_dates_and_uuids_into_json_values() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    data = {"book": Book(title="T", year=1), "at": datetime.date(2024, 1, 2), "id": ident}

    assert to_plain(data) == {
        "book": {"title": "T", "year": 1, "tags": []},
        "at": "2024-01-02",
        "id": str(ident),
    }
    assert to_plain([Point(1, 2)]) == [{"x": 1, "y": 2}]


def test_is_tabular_accepts_records_and_rows_only() -> None:
    assert is_tabular([{"a": 1}, Book(title="x", year=2), Point(1, 2)])
    assert is_tabular([[1, 2], (3, 4)])
    assert is_tabular([])
    assert not is_tabular({"a": 1})
    assert not is_tabular([1, 2])


# -- YAML ------------------------------------------------------------------------------------


def test_yaml_round_trip_keeps_types_and_order() -> None:
    assert load_yaml(dump_yaml(RECORD)) == RECORD
    assert list(load_yaml(dump_yaml(RECORD))) == list(RECORD)


def test_yaml_output_has_no_python_tags() -> None:
    text = dump_yaml({"book": Book(title="T", year=1), "when": datetime.datetime(2024, 1, 1)})

    assert b"!!python" not in text
    assert yaml.safe_load(text) == {
        "book": {"title": "T", "year": 1, "tags": []},
        "when": "2024-01-01T00:00:00",
    }


def test_yaml_python_object_tag_is_refused() -> None:
    payload = b"!!python/object/apply:os.system ['echo pwned']"

    with pytest.raises(FormatError) as caught:
        load_yaml(payload)
    assert caught.value.status == 400


def test_yaml_python_name_tag_is_refused() -> None:
    with pytest.raises(FormatError):
        load_yaml(b"x: !!python/name:os.system\n")


def test_yaml_alias_bomb_is_refused() -> None:
    bomb = b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'

    with pytest.raises(FormatError, match="aliases"):
        load_yaml(bomb)


def test_invalid_yaml_is_a_400_with_the_reason() -> None:
    with pytest.raises(FormatError, match="not acceptable YAML"):
        load_yaml(b"a: [1, 2\n")


# -- XML output ------------------------------------------------------------------------------


def test_xml_output_is_well_formed_and_escapes_text() -> None:
    hostile = {"name": "<script>alert('x')</script> & \"quotes\"", "n": 3}

    body = dump_xml(hostile)
    root = ElementTree.fromstring(body)

    assert b"<script>" not in body
    assert root.tag == "response"
    assert root.find("name").text == hostile["name"]  # type: ignore[union-attr]


def test_xml_element_names_from_keys_are_sanitised_and_keep_the_key() -> None:
    data = {"a b": 1, "<evil>": 2, "9lives": 3, "xmlns": 4, "ok_name": 5}

    body = dump_xml(data)
    root = ElementTree.fromstring(body)

    assert [child.tag for child in root] == ["_a_b", "__evil_", "_9lives", "_xmlns", "ok_name"]
    assert [child.get("key") for child in root] == ["a b", "<evil>", "9lives", "xmlns", None]
    assert load_xml(body) == {k: str(v) for k, v in data.items()}


def test_xml_output_replaces_characters_xml_cannot_carry() -> None:
    body = dump_xml({"text": "bell\x07 nul\x00 ok"})

    root = ElementTree.fromstring(body)
    assert root.find("text").text == "bell\ufffd nul\ufffd ok"  # type: ignore[union-attr]


def test_xml_round_trip_keeps_structure_with_text_values() -> None:
    data = {"name": "Ada", "tags": ["a", "b"], "empty": [], "nested": {"k": "v"}, "none": None}

    assert load_xml(dump_xml(data)) == data


def test_xml_round_trip_through_a_model_restores_types() -> None:
    book = Book(title="Dune", year=1965, tags=["sf"])

    assert Book.model_validate(load_xml(dump_xml(book))) == book


def test_xml_repeated_elements_written_by_hand_read_as_a_list() -> None:
    assert load_xml(b"<book><tag>a</tag><tag>b</tag><title>T</title></book>") == {
        "tag": ["a", "b"],
        "title": "T",
    }


# -- XML input: hostile documents --------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd">
<foo>x</foo>"""


@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_xml_with_dtds_or_entities_is_refused(payload: bytes) -> None:
    with pytest.raises(FormatError, match="refused") as caught:
        load_xml(payload)
    assert caught.value.status == 400


def test_malformed_xml_is_a_400() -> None:
    with pytest.raises(FormatError, match="not well-formed"):
        load_xml(b"<a><b></a>")


# -- CSV -------------------------------------------------------------------------------------


def _read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_csv_of_records_has_a_header_of_all_keys_in_first_seen_order() -> None:
    body = dump_csv([{"a": 1, "b": "x"}, {"a": 2, "c": True}])

    assert _read_csv(body) == [["a", "b", "c"], ["1", "x", ""], ["2", "", "true"]]


def test_csv_of_models_and_rows() -> None:
    assert _read_csv(dump_csv([Book(title="T", year=1)])) == [
        ["title", "year", "tags"],
        ["T", "1", "[]"],
    ]
    assert _read_csv(dump_csv([[1, "a"], [2, "b"]])) == [["1", "a"], ["2", "b"]]


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas(cell: str) -> None:
    rows = _read_csv(dump_csv([{"v": cell}]))

    assert rows[1] == ["'" + cell]


def test_csv_keeps_numbers_and_quotes_hostile_text() -> None:
    hostile = '<script>"x",y</script>'

    rows = _read_csv(dump_csv([{"n": -3, "s": hostile}]))

    assert rows == [["n", "s"], ["-3", hostile]]


def test_csv_round_trip_of_text_records() -> None:
    records = [{"name": "Ada, Countess", "quote": 'She said "hi"\nthen left'}]

    reader = csv.DictReader(io.StringIO(dump_csv(records).decode(), newline=""))

    assert list(reader) == records
