"""Input validation: only the declared type and range get through."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest

from trellis.dashboard import (
    Button,
    Checkbox,
    Date,
    DateRange,
    FileUpload,
    Input,
    InputError,
    MultiSelect,
    Numeric,
    Radio,
    Select,
    Slider,
    Text,
    UploadedFile,
)

JAN1 = datetime.date(2025, 1, 1)
DEC31 = datetime.date(2025, 12, 31)

ACCEPTED: list[tuple[Input, Any, Any]] = [
    (Slider("n", 0, 10), 7, 7),
    (Slider("n", 0, 10), 7.0, 7),
    (Slider("x", 0, 1, step=0.25), 0.75, 0.75),
    (Numeric("x", min=-5, max=5), -2.5, -2.5),
    (Numeric("x", integer=True), 12, 12),
    (Text("q", max_length=5), "hello", "hello"),
    (Select("region", ["North", "South"]), "South", "South"),
    (Select("year", [2024, 2025]), "2025", 2025),
    (Select("year", [(1, "One"), (2, "Two")]), 2, 2),
    (Radio("shape", ["circle", "square"]), "square", "square"),
    (MultiSelect("tags", ["a", "b", "c"]), ["c", "a"], ["c", "a"]),
    (MultiSelect("tags", ["a", "b"]), [], []),
    (Checkbox("on"), True, True),
    (Date("day", min=JAN1, max=DEC31), "2025-06-01", datetime.date(2025, 6, 1)),
    (DateRange("span", min=JAN1, max=DEC31), ["2025-02-01", "2025-03-01"],
     (datetime.date(2025, 2, 1), datetime.date(2025, 3, 1))),
    (Button("go"), 3, 3),
    (FileUpload("csv"), None, None),
    (FileUpload("csv"), {"name": "a.csv", "type": "text/csv", "data": "eCwx"},
     UploadedFile("a.csv", "text/csv", b"x,1")),
]  # fmt: skip


@pytest.mark.parametrize(("field", "raw", "expected"), ACCEPTED)
def test_valid_values_are_accepted_and_converted(field: Input, raw: Any, expected: Any) -> None:
    assert field.validate(raw) == expected


REFUSED: list[tuple[Input, Any, str]] = [
    (Slider("n", 0, 10), 1e9, "above the maximum 10"),
    (Slider("n", 0, 10), -1, "below the minimum 0"),
    (Slider("n", 0, 10), 2.5, "whole number"),
    (Slider("x", 0, 1, step=0.25), 0.3, "not on a step of 0.25"),
    (Slider("n", 0, 10), "5", "expected a number, got str"),
    (Slider("n", 0, 10), True, "expected a number, got bool"),
    (Slider("n", 0, 10), None, "expected a number"),
    (Numeric("x"), float("nan"), "finite"),
    (Numeric("x"), float("inf"), "finite"),
    (Numeric("x"), [1], "expected a number, got list"),
    (Text("q", max_length=5), "toolong", "longer than 5"),
    (Text("q"), {"$ne": 1}, "expected text, got dict"),
    (Select("region", ["North", "South"]), "Mars", "not one of the options"),
    (Select("region", ["North"]), ["North"], "got list"),
    (Select("region", ["North"]), None, "got NoneType"),
    (Radio("shape", ["circle"]), "<script>", "not one of the options"),
    (MultiSelect("tags", ["a", "b"]), "a", "expected a list"),
    (MultiSelect("tags", ["a", "b"]), ["a", "z"], "not one of the options"),
    (MultiSelect("tags", ["a", "b"]), ["a", "a"], "listed twice"),
    (MultiSelect("tags", ["a", "b"]), ["a", "b", "a"], "more values than"),
    (Checkbox("on"), "true", "expected true or false"),
    (Checkbox("on"), 1, "expected true or false"),
    (Date("day", min=JAN1, max=DEC31), "2024-12-31", "before 2025-01-01"),
    (Date("day"), "2025-02-30", "not a valid"),
    (Date("day"), "yesterday", "YYYY-MM-DD"),
    (DateRange("span", min=JAN1, max=DEC31), ["2025-03-01", "2025-02-01"], "after the end"),
    (DateRange("span", min=JAN1, max=DEC31), ["2025-03-01"], "two YYYY-MM-DD dates"),
    (Button("go"), -1, "press count"),
    (Button("go"), 2**40, "press count"),
    (FileUpload("csv"), "x", "expected null or"),
    (FileUpload("csv"), {"name": "a", "type": "t", "data": "%%%"}, "not valid base64"),
]


@pytest.mark.parametrize(("field", "raw", "message"), REFUSED)
def test_invalid_values_are_refused_with_a_reason(field: Input, raw: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        field.validate(raw)


def test_an_oversized_file_is_refused_as_too_large() -> None:
    field = FileUpload("csv", max_bytes=10)
    data = base64.b64encode(b"x" * 100).decode()

    with pytest.raises(InputError) as caught:
        field.validate({"name": "a", "type": "t", "data": data})

    assert caught.value.status == 413


def test_an_invalid_default_fails_at_definition_time() -> None:
    with pytest.raises(ValueError, match="default 50 is invalid: 50 is above the maximum 10"):
        Slider("n", 0, 10, value=50)


def test_a_select_default_must_be_an_option() -> None:
    with pytest.raises(ValueError, match="not one of the options"):
        Select("region", ["North"], value="South")


def test_input_names_must_be_identifiers() -> None:
    with pytest.raises(ValueError, match="must be a Python identifier"):
        Text("bad-name")


def test_min_above_max_is_refused() -> None:
    with pytest.raises(ValueError, match="min 5 is greater than max 1"):
        Slider("n", 5, 1)


@pytest.mark.parametrize(
    ("field", "query", "expected"),
    [
        (Slider("n", 0, 10), ["4"], 4),
        (Checkbox("on"), ["true"], True),
        (Checkbox("on"), ["0"], False),
        (MultiSelect("tags", ["a", "b"]), ["a", "b"], ["a", "b"]),
        (DateRange("span", min=JAN1, max=DEC31), ["2025-01-02,2025-01-03"],
         (datetime.date(2025, 1, 2), datetime.date(2025, 1, 3))),
    ],
)  # fmt: skip
def test_query_string_values_are_converted_then_validated(
    field: Input, query: list[str], expected: Any
) -> None:
    assert field.validate(field.from_query(query)) == expected


def test_a_non_number_in_the_query_string_is_refused() -> None:
    with pytest.raises(InputError, match="expected a number, got 'ten'"):
        Slider("n", 0, 10).from_query(["ten"])


def test_controls_escape_labels_values_and_options() -> None:
    html = Select("s", ["<b>"], label="<i>x</i>").render("<b>")

    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;" in html and "&lt;i&gt;x&lt;/i&gt;" in html
