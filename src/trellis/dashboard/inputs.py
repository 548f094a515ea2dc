"""Input components: what the browser shows, and how a value sent back is checked.

Every value from the browser is untrusted. `Input.validate(raw)` accepts only the declared type
and range (a slider cannot be sent 1e9, a select only its options) and returns the Python value
the calcs receive; it raises `InputError` with a message saying what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from markupsafe import Markup

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class InputError(ValueError):
    """A value sent for an input is not allowed; the message says what is."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def check_name(name: str, what: str) -> str:
    """Names are Python identifiers: they are parameter names in calcs and outputs."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{what} name {name!r} must be a Python identifier (e.g. 'region').")
    return name


def _number(raw: Any) -> float | int:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(f"expected a number, got {type(raw).__name__}")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InputError("expected a finite number")
    return raw


def _query_number(values: list[str]) -> Any:
    text = values[-1].strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise InputError(f"expected a number, got {text[:40]!r}") from None


class Input:
    """Base of all inputs: a name, a label and a default value."""

    kind: ClassVar[str] = "input"
    debounce_ms: ClassVar[int] = 0

    def __init__(self, name: str, label: str | None = None, value: Any = None) -> None:
        self.name = check_name(name, "Input")
        self.label = label if label is not None else name.replace("_", " ").capitalize()
        self.value = value

    def check_default(self) -> None:
        """Refuse a default that its own validation would reject (a bug found at import time)."""
        try:
            self.validate(self.to_json(self.value))
        except InputError as exc:
            raise ValueError(
                f"Input {self.name!r}: default {self.value!r} is invalid: {exc}"
            ) from exc

    def validate(self, raw: Any) -> Any:
        """Return the value calcs receive for `raw` (JSON from the browser); raise InputError."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """The JSON form of a validated value (what the browser holds)."""
        return value

    def from_query(self, values: list[str]) -> Any:
        """The raw value for query-string `values` (GET .../outputs/<name>?<inputs>)."""
        return values[-1]

    def spec(self) -> dict[str, Any]:
        """What the JavaScript runtime needs to know about this input."""
        return {"kind": self.kind, "debounce": self.debounce_ms}

    def render(self, value: Any) -> Markup:
        """The HTML control showing JSON `value`."""
        raise NotImplementedError

    def _field(self, control: Markup) -> Markup:
        return Markup(
            '<div class="tr-input tr-input-{kind}" data-input="{name}">'
            '<label for="tr-in-{name}">{label}</label>{control}</div>'
        ).format(kind=self.kind, name=self.name, label=self.label, control=control)


class _Numeric(Input):
    def __init__(
        self,
        name: str,
        min: float | None,
        max: float | None,
        value: float | None,
        step: float | None,
        label: str | None,
        integer: bool,
    ) -> None:
        if min is not None and max is not None and min > max:
            raise ValueError(f"Input {name!r}: min {min} is greater than max {max}.")
        super().__init__(
            name, label, value if value is not None else (min if min is not None else 0)
        )
        self.min, self.max, self.step, self.integer = min, max, step, integer
        self.check_default()

    def validate(self, raw: Any) -> Any:
        value = _number(raw)
        if self.integer and isinstance(value, float):
            if not value.is_integer():
                raise InputError(f"expected a whole number, got {value}")
            value = int(value)
        if self.min is not None and value < self.min:
            raise InputError(f"{value} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise InputError(f"{value} is above the maximum {self.max}")
        if self.step and self.min is not None:
            steps = (value - self.min) / self.step
            if abs(steps - round(steps)) > 1e-9 * max(1.0, abs(steps)):
                raise InputError(f"{value} is not on a step of {self.step} from {self.min}")
        return value

    def from_query(self, values: list[str]) -> Any:
        return _query_number(values)

    def _attrs(self) -> dict[str, Any]:
        return {
            "min": self.min,
            "max": self.max,
            "step": self.step or ("1" if self.integer else "any"),
        }

    def _number_control(self, input_type: str, value: Any) -> Markup:
        attrs = Markup("").join(
            Markup(' {}="{}"').format(k, v) for k, v in self._attrs().items() if v is not None
        )
        return Markup('<input id="tr-in-{}" name="{}" type="{}" value="{}"{}>').format(
            self.name, self.name, input_type, value, attrs
        )


class Slider(_Numeric):
    """A range slider between `min` and `max` (inclusive) in steps of `step`."""

    kind = "slider"
    debounce_ms = 200

    def __init__(
        self,
        name: str,
        min: float,
        max: float,
        value: float | None = None,
        step: float = 1,
        label: str | None = None,
    ) -> None:
        if step <= 0:
            raise ValueError(f"Slider {name!r}: step must be positive, got {step}.")
        integer = all(float(x).is_integer() for x in (min, max, step))
        super().__init__(name, min, max, value, step, label, integer)

    def render(self, value: Any) -> Markup:
        control = self._number_control("range", value) + Markup(
            '<output class="tr-slider-value" for="tr-in-{}">{}</output>'
        ).format(self.name, value)
        return self._field(control)


class Numeric(_Numeric):
    """A number box; `integer=True` accepts whole numbers only."""

    kind = "numeric"
    debounce_ms = 300

    def __init__(
        self,
        name: str,
        value: float | None = None,
        min: float | None = None,
        max: float | None = None,
        step: float | None = None,
        label: str | None = None,
        integer: bool = False,
    ) -> None:
        super().__init__(name, min, max, value, step, label, integer)

    def render(self, value: Any) -> Markup:
        return self._field(self._number_control("number", value))


class Text(Input):
    """A single-line text box of at most `max_length` characters."""

    kind = "text"
    debounce_ms = 300

    def __init__(
        self,
        name: str,
        value: str = "",
        label: str | None = None,
        max_length: int = 1000,
        placeholder: str = "",
    ) -> None:
        super().__init__(name, label, value)
        self.max_length = max_length
        self.placeholder = placeholder
        self.check_default()

    def validate(self, raw: Any) -> Any:
        if not isinstance(raw, str):
            raise InputError(f"expected text, got {type(raw).__name__}")
        if len(raw) > self.max_length:
            raise InputError(f"text is longer than {self.max_length} characters")
        return raw

    def render(self, value: Any) -> Markup:
        return self._field(
            Markup(
                '<input id="tr-in-{}" name="{}" type="text" value="{}" maxlength="{}" '
                'placeholder="{}">'
            ).format(self.name, self.name, value, self.max_length, self.placeholder)
        )


def _options(name: str, options: Sequence[Any]) -> list[tuple[Any, str]]:
    pairs: list[tuple[Any, str]] = []
    for option in options:
        if isinstance(option, tuple):
            value, label = option
        else:
            value, label = option, str(option)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"Input {name!r}: option values must be str, int or float: {value!r}")
        pairs.append((value, str(label)))
    if not pairs:
        raise ValueError(f"Input {name!r} needs at least one option.")
    return pairs


class Select(Input):
    """A drop-down: the value must be one of `options` (values, or (value, label) pairs)."""

    kind = "select"

    def __init__(
        self, name: str, options: Sequence[Any], value: Any = None, label: str | None = None
    ) -> None:
        self.options = _options(name, options)
        super().__init__(name, label, value if value is not None else self.options[0][0])
        self._by_text = {str(v): v for v, _ in self.options}
        self.check_default()

    def _one(self, raw: Any) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise InputError(f"expected one of the options, got {type(raw).__name__}")
        # Browsers send option values as text; match on the text form.
        value = self._by_text.get(str(raw))
        if value is None:
            allowed = ", ".join(repr(v) for v, _ in self.options[:10])
            raise InputError(f"{str(raw)[:40]!r} is not one of the options ({allowed})")
        return value

    def validate(self, raw: Any) -> Any:
        return self._one(raw)

    def _option_tags(self, selected: set[str]) -> Markup:
        return Markup("").join(
            Markup('<option value="{}"{}>{}</option>').format(
                v, Markup(" selected") if str(v) in selected else "", label
            )
            for v, label in self.options
        )

    def render(self, value: Any) -> Markup:
        return self._field(
            Markup('<select id="tr-in-{}" name="{}">{}</select>').format(
                self.name, self.name, self._option_tags({str(value)})
            )
        )


class MultiSelect(Select):
    """Several of `options` (a list, each at most once)."""

    kind = "multiselect"

    def __init__(
        self,
        name: str,
        options: Sequence[Any],
        value: Sequence[Any] = (),
        label: str | None = None,
    ) -> None:
        super().__init__(name, options, list(value) or [], label)

    def validate(self, raw: Any) -> Any:
        if not isinstance(raw, list):
            raise InputError(f"expected a list of options, got {type(raw).__name__}")
        if len(raw) > len(self.options):
            raise InputError(f"more values than the {len(self.options)} options")
        values = [self._one(item) for item in raw]
        if len(set(map(str, values))) != len(values):
            raise InputError("an option is listed twice")
        return values

    def from_query(self, values: list[str]) -> Any:
        return values

    def render(self, value: Any) -> Markup:
        return self._field(
            Markup('<select id="tr-in-{}" name="{}" multiple size="{}">{}</select>').format(
                self.name,
                self.name,
                min(len(self.options), 6),
                self._option_tags({str(v) for v in value}),
            )
        )


class Radio(Select):
    """Radio buttons: one of `options`."""

    kind = "radio"

    def render(self, value: Any) -> Markup:
        buttons = Markup("").join(
            Markup(
                '<label class="tr-radio"><input type="radio" name="{}" value="{}"{}> {}</label>'
            ).format(self.name, v, Markup(" checked") if str(v) == str(value) else "", label)
            for v, label in self.options
        )
        return Markup(
            '<fieldset class="tr-input tr-input-radio" data-input="{}"><legend>{}</legend>{}'
            "</fieldset>"
        ).format(self.name, self.label, buttons)


class Checkbox(Input):
    """A checkbox: True or False."""

    kind = "checkbox"

    def __init__(self, name: str, value: bool = False, label: str | None = None) -> None:
        super().__init__(name, label, value)
        self.check_default()

    def validate(self, raw: Any) -> Any:
        if not isinstance(raw, bool):
            raise InputError(f"expected true or false, got {type(raw).__name__}")
        return raw

    def from_query(self, values: list[str]) -> Any:
        text = values[-1].lower()
        if text in ("1", "true", "on", "yes"):
            return True
        if text in ("0", "false", "off", "no", ""):
            return False
        raise InputError(f"expected true or false, got {values[-1][:40]!r}")

    def render(self, value: Any) -> Markup:
        return Markup(
            '<div class="tr-input tr-input-checkbox" data-input="{}"><label>'
            '<input id="tr-in-{}" name="{}" type="checkbox"{}> {}</label></div>'
        ).format(self.name, self.name, self.name, Markup(" checked") if value else "", self.label)


def _date(raw: Any) -> datetime.date:
    if not isinstance(raw, str) or len(raw) != 10:
        raise InputError("expected a date as YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{raw!r} is not a valid YYYY-MM-DD date") from None


class Date(Input):
    """A date picker between optional `min` and `max`; calcs receive a `datetime.date`."""

    kind = "date"

    def __init__(
        self,
        name: str,
        value: datetime.date | None = None,
        min: datetime.date | None = None,
        max: datetime.date | None = None,
        label: str | None = None,
    ) -> None:
        super().__init__(name, label, value or min or datetime.date.today())
        self.min, self.max = min, max
        self.check_default()

    def _check(self, day: datetime.date) -> datetime.date:
        if self.min and day < self.min:
            raise InputError(f"{day} is before {self.min}")
        if self.max and day > self.max:
            raise InputError(f"{day} is after {self.max}")
        return day

    def validate(self, raw: Any) -> Any:
        return self._check(_date(raw))

    def to_json(self, value: Any) -> Any:
        return value.isoformat()

    def _control(self, suffix: str, value: str) -> Markup:
        return Markup('<input id="tr-in-{}{}" name="{}" type="date" value="{}"{}{}>').format(
            self.name,
            suffix,
            self.name,
            value,
            Markup(' min="{}"').format(self.min.isoformat()) if self.min else "",
            Markup(' max="{}"').format(self.max.isoformat()) if self.max else "",
        )

    def render(self, value: Any) -> Markup:
        return self._field(self._control("", value))


class DateRange(Date):
    """Two dates, start <= end; calcs receive a `(start, end)` tuple of `datetime.date`."""

    kind = "daterange"

    def __init__(
        self,
        name: str,
        value: tuple[datetime.date, datetime.date] | None = None,
        min: datetime.date | None = None,
        max: datetime.date | None = None,
        label: str | None = None,
    ) -> None:
        if value is None:
            if min is None or max is None:
                raise ValueError(f"DateRange {name!r} needs a value or both min and max.")
            value = (min, max)
        Input.__init__(self, name, label, value)
        self.min, self.max = min, max
        self.check_default()

    def validate(self, raw: Any) -> Any:
        if not isinstance(raw, list) or len(raw) != 2:
            raise InputError("expected [start, end] as two YYYY-MM-DD dates")
        start, end = (self._check(_date(item)) for item in raw)
        if start > end:
            raise InputError(f"the start {start} is after the end {end}")
        return (start, end)

    def to_json(self, value: Any) -> Any:
        return [value[0].isoformat(), value[1].isoformat()]

    def from_query(self, values: list[str]) -> Any:
        return values if len(values) == 2 else values[-1].split(",")

    def render(self, value: Any) -> Markup:
        return self._field(self._control("", value[0]) + self._control("-end", value[1]))


@dataclasses.dataclass(frozen=True)
class UploadedFile:
    """A file the browser sent with a FileUpload input."""

    filename: str
    content_type: str
    content: bytes


class FileUpload(Input):
    """A file picker. The browser keeps the file and sends it (base64) with every update, so
    `max_bytes` is small by default; calcs receive an `UploadedFile` or None."""

    kind = "file"

    def __init__(
        self,
        name: str,
        label: str | None = None,
        accept: str = "",
        max_bytes: int = 256 * 1024,
    ) -> None:
        super().__init__(name, label, None)
        self.accept = accept
        self.max_bytes = max_bytes

    def validate(self, raw: Any) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) != {"name", "type", "data"}:
            raise InputError('expected null or {"name", "type", "data"} with base64 data')
        name, ctype, data = raw["name"], raw["type"], raw["data"]
        if not (isinstance(name, str) and isinstance(ctype, str) and isinstance(data, str)):
            raise InputError("name, type and data must be strings")
        if len(data) > (self.max_bytes + 2) // 3 * 4:
            raise InputError(f"the file is larger than {self.max_bytes} bytes", status=413)
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("data is not valid base64") from None
        return UploadedFile(name[:255], ctype[:100], content)

    def to_json(self, value: Any) -> Any:
        if value is None:
            return None
        data = base64.b64encode(value.content).decode()
        return {"name": value.filename, "type": value.content_type, "data": data}

    def from_query(self, values: list[str]) -> Any:
        raise InputError("a file cannot be sent in a query string; use the POST update")

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "max_bytes": self.max_bytes}

    def render(self, value: Any) -> Markup:
        return self._field(
            Markup('<input id="tr-in-{}" name="{}" type="file" accept="{}">').format(
                self.name, self.name, self.accept
            )
        )


class Button(Input):
    """A button; its value is how often it was pressed, so outputs reading it rerun on a press."""

    kind = "button"

    def __init__(self, name: str, label: str | None = None) -> None:
        super().__init__(name, label, 0)

    def validate(self, raw: Any) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < 2**31:
            raise InputError("expected a press count (a whole number from 0)")
        return raw

    def from_query(self, values: list[str]) -> Any:
        return _query_number(values)

    def render(self, value: Any) -> Markup:
        return Markup(
            '<div class="tr-input tr-input-button" data-input="{}">'
            '<button type="button" id="tr-in-{}" name="{}" value="{}">{}</button></div>'
        ).format(self.name, self.name, self.name, value, self.label)
