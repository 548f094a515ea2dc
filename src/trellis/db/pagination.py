"""Pagination, filtering and ordering from query parameters, through allow-lists only.

Client input never names a column directly: a query parameter is looked up in a mapping the
application wrote (`{"author": Post.author_id}`), and its value is converted to the column's
Python type and sent as a bound parameter.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import pydantic
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from ..errors import ConfigurationError, ValidationError
from ..requests import Request

T = TypeVar("T")

MAX_PAGE = 1_000_000
_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "contains", "in")
_MAX_IN_VALUES = 100


def _error(field: str, message: str, kind: str = "value_error") -> ValidationError:
    return ValidationError(
        [{"loc": ["query", field], "field": field, "message": message, "type": kind}]
    )


def read_page_params(request: Request, per_page: int, max_per_page: int) -> tuple[int, int]:
    """(page, per_page) from the query string; out-of-range or non-numeric values are a 422."""
    query = request.query
    page = _positive_int(query.get("page"), "page", 1, MAX_PAGE)
    size = _positive_int(query.get("per_page"), "per_page", per_page, max_per_page)
    return page, size


def _positive_int(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise _error(name, f"{name} must be a whole number from 1 to {maximum}.", "int_parsing")
    value = int(raw)
    if not 1 <= value <= maximum:
        raise _error(name, f"{name} must be from 1 to {maximum}.", "out_of_range")
    return value


@dataclasses.dataclass
class Page(Generic[T]):
    """One page of results: the rows, where it sits, and links to its neighbours."""

    items: list[T]
    page: int
    per_page: int
    total: int
    request: Request | None = dataclasses.field(default=None, repr=False)

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1, so page 1 of an empty result exists)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def url(self, page: int) -> str:
        """The current URL with `page` replaced (other query parameters kept)."""
        if self.request is None:
            return f"?page={page}&per_page={self.per_page}"
        params = [(k, v) for k, v in self.request.query.multi_items() if k != "page"]
        params.append(("page", str(page)))
        return f"{self.request.root_path}{self.request.path}?{urlencode(params)}"

    def links(self) -> dict[str, str | None]:
        return {
            "self": self.url(self.page),
            "first": self.url(1),
            "prev": self.url(self.page - 1) if self.has_prev else None,
            "next": self.url(self.page + 1) if self.has_next else None,
            "last": self.url(self.pages),
        }

    def to_dict(
        self, item: Callable[[T], Any] | type[pydantic.BaseModel] | None = None
    ) -> dict[str, Any]:
        """A response body: `items` (each through `item`, a pydantic model or a function;
        by default a model's `to_dict()`), `page`, `per_page`, `total`, `pages` and `links`."""
        return {
            "items": [_dump(row, item) for row in self.items],
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": self.pages,
            "links": self.links(),
        }


def _dump(row: Any, item: Any) -> Any:
    if item is None:
        to_dict = getattr(row, "to_dict", None)
        return to_dict() if to_dict is not None else row
    if isinstance(item, type) and issubclass(item, pydantic.BaseModel):
        return item.model_validate(row, from_attributes=True).model_dump(mode="json")
    return item(row)


@dataclasses.dataclass(frozen=True)
class FilterField:
    """A filterable field: the column and the operators clients may use on it."""

    column: Any
    operators: Sequence[str] = ("eq",)

    def __post_init__(self) -> None:
        unknown = set(self.operators) - set(_OPERATORS)
        if unknown:
            raise ValueError(f"Unknown filter operators {sorted(unknown)}; use {_OPERATORS}.")


class Filters:
    """Filtering and ordering a select from query parameters, limited to declared fields.

    >>> posts = Filters(
    ...     fields={"author": Post.author_id, "title": FilterField(Post.title, ["eq", "contains"])},
    ...     sort={"created": Post.created_at, "title": Post.title},
    ...     default_sort="-created",
    ... )
    >>> statement = posts.apply(select(Post), request)

    `?author=3&title__contains=tea&sort=-created,title`. Parameters that are not declared are
    ignored (they may be meant for something else, such as `page`); a declared field with an
    unconvertible value, an operator it does not allow, or an unknown sort key is a 422.
    """

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        sort: Mapping[str, Any] | None = None,
        *,
        default_sort: str | None = None,
        sort_param: str = "sort",
    ) -> None:
        self.fields: dict[str, FilterField] = {
            name: spec if isinstance(spec, FilterField) else FilterField(spec)
            for name, spec in (fields or {}).items()
        }
        self.sort = dict(sort or {})
        self.sort_param = sort_param
        self.default_sort = default_sort
        self._converters = {name: _converter(f.column) for name, f in self.fields.items()}
        if default_sort is not None:
            try:
                self._order_by(default_sort)  # checked at start-up, not on the first request
            except ValidationError as exc:
                raise ConfigurationError(f"Filters(default_sort=...): {exc.detail}") from None

    def apply(self, statement: Select[Any], request: Request) -> Select[Any]:
        """`statement` with the request's filters and ordering applied."""
        query = request.query
        for key in query:
            name, _, op = key.partition("__")
            spec = self.fields.get(name)
            if spec is None:
                continue
            op = op or "eq"
            if op not in spec.operators:
                allowed = ", ".join(spec.operators)
                raise _error(key, f"{name} cannot be filtered with {op!r}; allowed: {allowed}.")
            values = query.getlist(key)
            statement = statement.where(self._condition(name, spec, op, values, key))
        raw_sort = query.get(self.sort_param) or self.default_sort
        if raw_sort:
            statement = statement.order_by(None).order_by(*self._order_by(raw_sort))
        return statement

    def _condition(self, name: str, spec: FilterField, op: str, values: list[str], key: str) -> Any:
        convert = self._converters[name]
        column = spec.column
        if op == "in":
            parts = [part for value in values for part in value.split(",") if part != ""]
            if len(parts) > _MAX_IN_VALUES:
                raise _error(key, f"At most {_MAX_IN_VALUES} values may be given to {key}.")
            return column.in_([self._convert(convert, part, key) for part in parts])
        if len(values) > 1:
            raise _error(key, f"{key} may be given only once.")
        if op == "contains":
            # autoescape: % and _ from the client are matched literally, not as wildcards.
            return column.contains(values[0], autoescape=True)
        value = self._convert(convert, values[0], key)
        return {
            "eq": column.__eq__,
            "ne": column.__ne__,
            "lt": column.__lt__,
            "lte": column.__le__,
            "gt": column.__gt__,
            "gte": column.__ge__,
        }[op](value)

    @staticmethod
    def _convert(convert: pydantic.TypeAdapter[Any], raw: str, key: str) -> Any:
        try:
            return convert.validate_strings(raw)
        except pydantic.ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"]
            raise _error(key, f"{key}: {message}.") from None

    def _order_by(self, raw: str) -> list[Any]:
        clauses = []
        keys = [part.strip() for part in raw.split(",") if part.strip()]
        if len(keys) > len(self.sort) or not keys:
            raise _error(self.sort_param, self._sort_help("Too many or no sort keys"))
        for key in keys:
            descending = key.startswith("-")
            column = self.sort.get(key.lstrip("-+"))
            if column is None:
                raise _error(self.sort_param, self._sort_help(f"Cannot sort by {key[:40]!r}"))
            clauses.append(column.desc() if descending else column.asc())
        return clauses

    def _sort_help(self, problem: str) -> str:
        allowed = ", ".join(sorted(self.sort)) or "(none)"
        return f"{problem}; sort by one or more of: {allowed} (prefix - for descending)."


def _converter(column: Any) -> pydantic.TypeAdapter[Any]:
    if isinstance(column, InstrumentedAttribute):
        column = column.expression
    try:
        python_type: Any = column.type.python_type
    except (AttributeError, NotImplementedError):
        python_type = str
    if python_type not in (
        int,
        float,
        bool,
        str,
        decimal.Decimal,
        uuid.UUID,
        datetime.date,
        datetime.datetime,
        datetime.time,
    ):
        python_type = str
    return pydantic.TypeAdapter(python_type)
