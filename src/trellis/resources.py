"""REST resources from SQLAlchemy models: one call gives list, retrieve, create, update, delete.

    from trellis.resources import Resource

    Resource(
        app, Item,                  # a model with one primary key, in the app's Database
        filters=["status"], ordering=["name", "price"],
        scopes={"read": "items:read", "write": "items:write"},
    )

gives, under `/items` (the table name):

    GET    /items          a page: ?page=2&per_page=20&sort=-price&status=active   200
    POST   /items          create from JSON                                    201 + Location
    GET    /items/{id}     one item, with an ETag (If-None-Match -> 304)        200, 404
    PUT    /items/{id}     replace (every field)                                200, 404, 412
    PATCH  /items/{id}     change the fields sent                               200, 404, 412
    DELETE /items/{id}                                                          204, 404, 412

Bodies are validated by pydantic schemas derived from the model's columns (or given with
`schema=`, `create_schema=`, `update_schema=`); invalid input is a 422, a unique or foreign key
violation a 409. Writes honour `If-Match`: a stale ETag is a 412, and the write itself is a
compare-and-swap on the row, so two clients updating from the same version cannot both win
(`require_if_match=True` makes the header mandatory: 428 without it). Filtering and ordering
accept only the fields listed. The generated handlers are ordinary routes: OpenAPI documents
them, and plain handlers can sit beside them.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import enum
import hashlib
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, Optional

import pydantic
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .errors import ConfigurationError, HTTPError, ValidationError
from .requests import Request
from .responses import Response, dump_json

ACTIONS = ("list", "retrieve", "create", "update", "delete")
_READ_ACTIONS = frozenset({"list", "retrieve"})
_MAX_INT_ID = 2**63 - 1
_SIMPLE_FILTER_TYPES = (str, int, float, bool, decimal.Decimal, uuid.UUID, datetime.date)


class Resource:
    """CRUD routes for one SQLAlchemy model; see the module docstring for what they answer."""

    def __init__(
        self,
        app: Any,
        model: type[Any],
        *,
        engine: Engine | None = None,
        sessions: Callable[[], Session] | None = None,
        path: str | None = None,
        name: str | None = None,
        schema: type[pydantic.BaseModel] | None = None,
        create_schema: type[pydantic.BaseModel] | None = None,
        update_schema: type[pydantic.BaseModel] | None = None,
        filters: Iterable[str] = (),
        ordering: Iterable[str] = (),
        default_order: str | None = None,
        per_page: int = 20,
        max_per_page: int = 100,
        actions: Iterable[str] = ACTIONS,
        scopes: Mapping[str, str | Iterable[str]] | None = None,
        require_if_match: bool = False,
        tags: list[str] | None = None,
    ) -> None:
        try:
            self.table: sa.Table = model.__table__
            mapper = sa.inspect(model)
        except (AttributeError, sa.exc.NoInspectionAvailable):
            raise ConfigurationError(
                f"Resource needs a SQLAlchemy mapped class; {model!r} is not one."
            ) from None
        primary = list(mapper.primary_key)
        if len(primary) != 1:
            raise ConfigurationError(
                f"Resource({model.__name__}) needs a single-column primary key; "
                "write plain handlers for composite keys."
            )
        self.model = model
        self.pk: sa.Column[Any] = primary[0]
        self.pk_attr = mapper.get_property_by_column(self.pk).key
        self.columns = {mapper.get_property_by_column(c).key: c for c in self.table.columns}
        self.name = name or str(self.table.name)
        self.path = (path or f"/{self.table.name}").rstrip("/")
        if sessions is None:
            if engine is not None:
                sessions = sessionmaker(engine, expire_on_commit=False)
            else:
                sessions = _database_sessions(app, model)
        self.sessions = sessions
        self.schema = schema or _schema_from_columns(model, self.columns, "", exclude=())
        generated = _generated_pk(self.pk)
        writable = {k: c for k, c in self.columns.items() if not (generated and c is self.pk)}
        self.create_schema = create_schema or _schema_from_columns(
            model, writable, "Create", exclude=()
        )
        self.update_schema = update_schema or _schema_from_columns(
            model, writable, "Update", exclude=(), all_required=True
        )
        self.patch_schema = _partial(self.update_schema)
        self.filters = self._allowed(filters, "filters")
        self.ordering = self._allowed(ordering, "ordering")
        self.default_order = default_order or self.pk_attr
        self.per_page = per_page
        self.max_per_page = max_per_page
        self.require_if_match = require_if_match
        self.tags = tags or [self.name]
        self.page_schema = pydantic.create_model(
            f"{model.__name__}Page",
            items=(list[self.schema], ...),  # type: ignore[name-defined]
            page=(int, ...),
            per_page=(int, ...),
            total=(int, ...),
            pages=(int, ...),
        )
        self.actions = tuple(actions)
        unknown = set(self.actions) - set(ACTIONS)
        if unknown:
            raise ConfigurationError(f"Unknown resource actions {sorted(unknown)}; use {ACTIONS}.")
        self._scopes = _scopes_per_action(scopes or {})
        self._register(app)

    # -- set-up --

    def _allowed(self, names: Iterable[str], what: str) -> dict[str, sa.Column[Any]]:
        allowed = {}
        for name in names:
            if name not in self.columns:
                raise ConfigurationError(
                    f"Resource({self.model.__name__}) {what}: {name!r} is not a column; "
                    f"columns: {', '.join(self.columns)}."
                )
            allowed[name] = self.columns[name]
        return allowed

    def _register(self, app: Any) -> None:
        from .auth.scopes import requires_scope

        pk_type = _python_type(self.pk)
        converter = "int" if pk_type is int else ("uuid" if pk_type is uuid.UUID else "str")
        item_path = f"{self.path}/{{id:{converter}}}"
        if_match = {
            "name": "If-Match",
            "in": "header",
            "required": self.require_if_match,
            "description": "The ETag the change is based on; a stale one is refused with 412.",
            "schema": {"type": "string"},
        }
        if_none_match = {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "An ETag you hold; 304 if it is still current.",
            "schema": {"type": "string"},
        }
        model_name = self.model.__name__
        etag_header = {
            "ETag": {
                "description": "The item's version; send it back in If-Match.",
                "schema": {"type": "string"},
            }
        }
        created = {
            "description": f"The new {model_name}.",
            "headers": {
                "Location": {"description": "The new item's URL.", "schema": {"type": "string"}},
                **etag_header,
            },
        }
        current = {"description": "OK", "headers": etag_header}
        conditional = {412: "The item changed since the given ETag."}
        if self.require_if_match:
            conditional[428] = "Send If-Match with the item's ETag."
        specs: dict[str, tuple[str, tuple[str, ...], Callable[..., Any], dict[str, Any]]] = {
            "list": (
                self.path,
                ("GET",),
                self._list_endpoint(),
                {"parameters": self._list_parameters(), "errors": [422]},
            ),
            "create": (
                self.path,
                ("POST",),
                self._create_endpoint(),
                {"responses": {201: created, 409: "Conflicts with existing data."}},
            ),
            "retrieve": (
                item_path,
                ("GET",),
                self._retrieve_endpoint(),
                {"parameters": [if_none_match], "responses": {200: current, 304: "Not Modified"}},
            ),
            "update": (
                item_path,
                ("PUT",),
                self._update_endpoint(partial=False),
                {
                    "parameters": [if_match],
                    "responses": {200: current, 409: "Conflict", **conditional},
                },
            ),
            "delete": (
                item_path,
                ("DELETE",),
                self._delete_endpoint(),
                {"parameters": [if_match], "responses": {204: "Deleted.", **conditional}},
            ),
        }
        for action in ACTIONS:
            if action not in self.actions:
                continue
            path, methods, endpoint, options = specs[action]
            scope = self._scopes.get(action)
            if scope:
                endpoint = requires_scope(*scope)(endpoint)
            app.add_route(
                path, endpoint, methods, name=f"{self.name}.{action}", tags=self.tags, **options
            )
            if action == "update":
                patch = self._update_endpoint(partial=True)
                if scope:
                    patch = requires_scope(*scope)(patch)
                app.add_route(
                    item_path,
                    patch,
                    ("PATCH",),
                    name=f"{self.name}.patch",
                    tags=self.tags,
                    **options,
                )

    def _list_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
            },
            {
                "name": "per_page",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_per_page,
                    "default": self.per_page,
                },
            },
        ]
        if self.ordering:
            choices = [p + name for name in self.ordering for p in ("", "-")]
            parameters.append(
                {
                    "name": "sort",
                    "in": "query",
                    "required": False,
                    "description": "A field to order by; '-' first for descending.",
                    "schema": {"type": "string", "enum": choices},
                }
            )
        for name, column in self.filters.items():
            schema = pydantic.TypeAdapter(_python_type(column)).json_schema()
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": f"Only items whose {name} equals this.",
                    "schema": schema,
                }
            )
        return parameters

    # -- the handlers --

    def _list_endpoint(self) -> Callable[..., Any]:
        def list_items(request: Request) -> Any:
            return self.list_items(request)

        list_items.__annotations__ = {"request": Request, "return": self.page_schema}
        list_items.__doc__ = f"List {self.name}, a page at a time."
        return list_items

    def _create_endpoint(self) -> Callable[..., Any]:
        def create_item(request: Request, body: Any) -> Any:
            return self.create_item(request, body)

        create_item.__annotations__ = {
            "request": Request,
            "body": self.create_schema,
            "return": self.schema,
        }
        create_item.__doc__ = f"Create one {self.model.__name__}."
        return create_item

    def _retrieve_endpoint(self) -> Callable[..., Any]:
        def retrieve_item(request: Request, id: Any) -> Any:
            return self.retrieve_item(request, id)

        retrieve_item.__annotations__ = {
            "request": Request,
            "id": _python_type(self.pk),
            "return": self.schema,
        }
        retrieve_item.__doc__ = f"One {self.model.__name__}, with its ETag."
        return retrieve_item

    def _update_endpoint(self, partial: bool) -> Callable[..., Any]:
        def update_item(request: Request, id: Any, body: Any) -> Any:
            return self.update_item(request, id, body, partial=partial)

        update_item.__annotations__ = {
            "request": Request,
            "id": _python_type(self.pk),
            "body": self.patch_schema if partial else self.update_schema,
            "return": self.schema,
        }
        verb = "Change the given fields of" if partial else "Replace"
        update_item.__doc__ = f"{verb} one {self.model.__name__} (If-Match for safe concurrency)."
        update_item.__name__ = "patch_item" if partial else "update_item"
        return update_item

    def _delete_endpoint(self) -> Callable[..., Any]:
        def delete_item(request: Request, id: Any) -> None:
            self.delete_item(request, id)

        delete_item.__annotations__ = {
            "request": Request,
            "id": _python_type(self.pk),
            "return": None,
        }
        delete_item.__doc__ = f"Delete one {self.model.__name__}."
        return delete_item

    # -- what the handlers do (public, so custom handlers can reuse them) --

    def list_items(self, request: Request) -> Response:
        """A page of items, filtered and ordered as the query string asks (allow-lists only)."""
        query = request.query
        repeated = [key for key in query if len(query.getlist(key)) > 1]
        if repeated:
            raise ValidationError(
                [
                    _error(key, f"Give {key} once, not {len(query.getlist(key))} times.")
                    for key in repeated
                ]
            )
        page = _int_param(query.get("page"), "page", 1, 1_000_000)
        per_page = _int_param(query.get("per_page"), "per_page", self.per_page, self.max_per_page)
        conditions = []
        errors = []
        for key in query:
            if key in ("page", "per_page", "sort"):
                continue
            column = self.filters.get(key)
            if column is None:
                allowed = ", ".join(self.filters) or "none"
                errors.append(_error(key, f"{key!r} is not a filter here; filters: {allowed}."))
                continue
            try:
                value = pydantic.TypeAdapter(_python_type(column)).validate_strings(query[key])
            except pydantic.ValidationError as exc:
                errors.append(_error(key, exc.errors()[0]["msg"]))
                continue
            if isinstance(value, int) and not -_MAX_INT_ID <= value <= _MAX_INT_ID:
                errors.append(_error(key, f"{key} is out of range."))
                continue
            conditions.append(column == value)
        order = self._order(query.get("sort"), errors)
        if errors:
            raise ValidationError(errors)
        with self.sessions() as session, _query_errors_are_422():
            total = session.scalar(
                sa.select(sa.func.count()).select_from(self.table).where(*conditions)
            )
            rows = session.scalars(
                sa.select(self.model)
                .where(*conditions)
                .order_by(*order)
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
            items = [self._dump(row) for row in rows]
        total = int(total or 0)
        body = {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": max(1, math.ceil(total / per_page)),
        }
        return Response(dump_json(body), media_type="application/json")

    def _order(self, raw: str | None, errors: list[dict[str, Any]]) -> list[Any]:
        pk_order = self.pk.asc()
        if raw is None:
            column = self.columns[self.default_order.lstrip("-")]
            first = column.desc() if self.default_order.startswith("-") else column.asc()
            return [first, pk_order]
        name = raw.lstrip("-")
        column = self.ordering.get(name)
        if column is None or raw.count("-") > 1:
            allowed = ", ".join(self.ordering) or "none"
            errors.append(_error("sort", f"Cannot sort by {raw!r}; sortable fields: {allowed}."))
            return []
        return [column.desc() if raw.startswith("-") else column.asc(), pk_order]

    def retrieve_item(self, request: Request, item_id: Any) -> Response:
        """One item with its ETag; 304 when If-None-Match names the current ETag."""
        with self.sessions() as session:
            data = self._dump(self._get(session, item_id))
        etag = _etag(data)
        none_match = request.headers.get("if-none-match")
        if none_match and _etag_matches(none_match, etag, weak=True):
            return Response(b"", 304, {"etag": etag})
        return self._respond(data, 200)

    def create_item(self, request: Request, body: pydantic.BaseModel) -> Response:
        """Insert an item; 201 with Location and ETag, 409 if it conflicts."""
        values = body.model_dump()
        with self.sessions() as session:
            item = self.model(**values)
            session.add(item)
            try:
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise _conflict(exc) from None
            except DataError as exc:
                session.rollback()
                raise _unstorable(exc) from None
            data = self._dump(item)
        location = f"{request.root_path}{self.path}/{data[self.pk_attr]}"
        return self._respond(data, 201, {"location": location})

    def update_item(
        self, request: Request, item_id: Any, body: pydantic.BaseModel, *, partial: bool
    ) -> Response:
        """Replace (PUT) or change (PATCH) an item, as a compare-and-swap when If-Match is sent."""
        if_match = request.headers.get("if-match")
        if if_match is None and self.require_if_match:
            raise HTTPError(428, "Send If-Match with the ETag you read, so changes are not lost.")
        values = body.model_dump(exclude_unset=partial)
        with self.sessions() as session:
            item = self._get(session, item_id)
            _check_if_match(if_match, self._dump(item))
            if values:
                self._swap(session, item_id, self._raw(item) if if_match else None, values)
            session.expire_all()
            data = self._dump(self._get(session, item_id))
        return self._respond(data, 200)

    def delete_item(self, request: Request, item_id: Any) -> None:
        """Delete an item (honouring If-Match)."""
        if_match = request.headers.get("if-match")
        if if_match is None and self.require_if_match:
            raise HTTPError(428, "Send If-Match with the ETag you read, so changes are not lost.")
        with self.sessions() as session:
            item = self._get(session, item_id)
            _check_if_match(if_match, self._dump(item))
            statement = sa.delete(self.table).where(self.pk == item_id)
            if if_match:
                statement = statement.where(*self._unchanged(self._raw(item)))
            self._write(session, statement, "The item changed while it was being deleted.")

    # -- helpers --

    def _swap(
        self,
        session: Session,
        item_id: Any,
        expected: dict[str, Any] | None,
        values: dict[str, Any],
    ) -> None:
        columns = {self.columns[key].name: value for key, value in values.items()}
        statement = sa.update(self.table).where(self.pk == item_id).values(columns)
        if expected is not None:
            # SECURITY: the row must still be what the client's ETag described; if someone
            # else changed it between our read and this write, nothing is updated: 412.
            statement = statement.where(*self._unchanged(expected))
        self._write(session, statement, "The item changed since your ETag; read it again.")

    def _write(self, session: Session, statement: Any, stale: str) -> None:
        """Run an UPDATE/DELETE of one row and commit: 412 (`stale`) when no row matched,
        409/422-style errors when the database refuses the values."""
        try:
            result = session.execute(statement)
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise HTTPError(412, stale)
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise _conflict(exc) from None
        except DataError as exc:
            session.rollback()
            raise _unstorable(exc) from None

    def _unchanged(self, expected: dict[str, Any]) -> list[Any]:
        return [column.is_not_distinct_from(expected[key]) for key, column in self.columns.items()]

    def _raw(self, item: Any) -> dict[str, Any]:
        """The item's column values as read from the database."""
        return {key: getattr(item, key) for key in self.columns}

    def _get(self, session: Session, item_id: Any) -> Any:
        missing = HTTPError(404, f"No {self.model.__name__} has the id {item_id!r}.")
        if isinstance(item_id, int) and not 0 <= item_id <= _MAX_INT_ID:
            raise missing  # beyond any integer column: no such row (and no overflow error)
        try:
            item = session.get(self.model, item_id)
        except DataError:  # e.g. an id beyond a 32-bit column's range on PostgreSQL
            session.rollback()
            raise missing from None
        if item is None:
            raise HTTPError(404, f"No {self.model.__name__} has the id {item_id!r}.")
        return item

    def _dump(self, item: Any) -> dict[str, Any]:
        dumped: dict[str, Any] = self.schema.model_validate(item).model_dump(mode="json")
        return dumped

    def _respond(
        self, data: dict[str, Any], status: int, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            dump_json(data),
            status,
            {"etag": _etag(data), **(headers or {})},
            "application/json",
        )


def _database_sessions(app: Any, model: type[Any]) -> Callable[[], Session]:
    """Sessions of the app's `Database` (trellis.db), made on first use."""
    from .db import Database

    try:
        database = Database.of(app)
    except ConfigurationError:
        raise ConfigurationError(
            f"Resource({model.__name__}) needs the app's database: create `Database(app)` "
            "first (trellis.db), or pass engine=... or sessions=...."
        ) from None

    def session() -> Session:
        return database.sessionmaker()

    return session


# -- schemas from columns --


def _python_type(column: sa.Column[Any]) -> Any:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return Any
    if isinstance(column.type, sa.Enum) and column.type.enum_class is not None:
        return column.type.enum_class
    if python_type is datetime.datetime or python_type in _SIMPLE_FILTER_TYPES:
        return python_type
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type
    if python_type in (dict, list):
        return python_type
    return Any


def _generated_pk(column: sa.Column[Any]) -> bool:
    """True when the database (or SQLAlchemy) fills the primary key in: clients do not send it."""
    if column.default is not None or column.server_default is not None:
        return True
    autoincrement = column.autoincrement
    return autoincrement is True or (autoincrement == "auto" and _python_type(column) is int)


# What the common databases can store (PostgreSQL's integer is 32 bits; SQLite takes 64).
_INTEGER_BITS: dict[type[Any], int] = {sa.SmallInteger: 16, sa.Integer: 32, sa.BigInteger: 64}
_STRICT = {str: pydantic.StrictStr, int: pydantic.StrictInt, bool: pydantic.StrictBool}


def _field(column: sa.Column[Any], all_required: bool) -> tuple[Any, Any]:
    python_type = _python_type(column)
    # Strict for JSON's own types ("5" is not an int, true is not 1); richer types such as
    # datetime, UUID or Decimal are still read from their usual string forms.
    annotation: Any = _STRICT.get(python_type, python_type)
    if python_type is float:
        annotation = Annotated[float, pydantic.Strict()]
    constraints: dict[str, Any] = {}
    length = getattr(column.type, "length", None)
    if python_type is str and isinstance(length, int):
        constraints["max_length"] = length
    if python_type is int:
        bits = _INTEGER_BITS.get(type(column.type), 32)
        constraints["ge"], constraints["le"] = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if column.nullable:
        annotation = Optional[annotation]  # noqa: UP045 - built at run time
    if column.doc or column.comment:
        constraints["description"] = column.doc or column.comment
    has_default = column.default is not None or column.server_default is not None
    if column.nullable and not all_required:
        default: Any = None
    elif has_default and not all_required:
        scalar = getattr(column.default, "arg", None)
        default = scalar if column.default is not None and column.default.is_scalar else None
        if default is None:
            annotation = Optional[annotation]  # noqa: UP045 - the database fills it in
    elif column.nullable:
        default = None
    else:
        default = ...
    return annotation, pydantic.Field(default, **constraints)


def _schema_from_columns(
    model: type[Any],
    columns: Mapping[str, sa.Column[Any]],
    suffix: str,
    exclude: Iterable[str],
    all_required: bool = False,
) -> type[pydantic.BaseModel]:
    fields: dict[str, Any] = {}
    for key, column in columns.items():
        if key in exclude:
            continue
        if suffix == "":
            annotation = _python_type(column)
            if column.nullable:
                annotation = Optional[annotation]  # noqa: UP045
            fields[key] = (annotation, ...)
        else:
            fields[key] = _field(column, all_required)
    config = pydantic.ConfigDict(from_attributes=True, extra="forbid" if suffix else "ignore")
    schema: type[pydantic.BaseModel] = pydantic.create_model(
        f"{model.__name__}{suffix}", __config__=config, **fields
    )
    return schema


def _partial(schema: type[pydantic.BaseModel]) -> type[pydantic.BaseModel]:
    """The schema with every field optional (PATCH); fields not sent are left alone.

    A field keeps its type, so null is refused where the full schema refuses it; the default
    (None, meaning "not sent") is left out of the JSON schema.
    """
    fields: dict[str, Any] = {}
    for key, field in schema.model_fields.items():
        annotation = field.annotation
        if field.metadata:  # constraints such as max_length
            annotation = Annotated[(annotation, *field.metadata)]  # type: ignore[assignment]
        fields[key] = (
            annotation,
            pydantic.Field(None, description=field.description, json_schema_extra=_drop_default),
        )
    name = schema.__name__.removesuffix("Update") + "Patch"
    partial: type[pydantic.BaseModel] = pydantic.create_model(
        name, __config__=schema.model_config, **fields
    )
    return partial


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _scopes_per_action(scopes: Mapping[str, str | Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """{"read": s, "write": s} or per action ({"list": s, "create": s, ...})."""
    result: dict[str, tuple[str, ...]] = {}
    for key, value in scopes.items():
        names = (value,) if isinstance(value, str) else tuple(value)
        if key == "read":
            targets: Iterable[str] = _READ_ACTIONS
        elif key == "write":
            targets = set(ACTIONS) - _READ_ACTIONS
        elif key in ACTIONS:
            targets = (key,)
        else:
            raise ConfigurationError(
                f"Resource scopes: {key!r} is not 'read', 'write' or an action {ACTIONS}."
            )
        for target in targets:
            result[target] = result.get(target, ()) + names
    return result


# -- ETags and conditions --


def _etag(data: dict[str, Any]) -> str:
    return '"' + hashlib.sha256(dump_json(data)).hexdigest()[:32] + '"'


def _etag_matches(header: str, etag: str, weak: bool = False) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if weak:
            candidate = candidate.removeprefix("W/")
        if candidate == etag:
            return True
    return False


def _check_if_match(if_match: str | None, current: dict[str, Any]) -> None:
    if if_match is not None and not _etag_matches(if_match, _etag(current)):
        raise HTTPError(
            412, "The item changed since the ETag you sent (If-Match); read it again and retry."
        )


@contextlib.contextmanager
def _query_errors_are_422() -> Iterator[None]:
    try:
        yield
    except DataError as exc:  # a filter value the column cannot hold (PostgreSQL checks)
        raise ValidationError(
            [_error("query", "A filter value is out of range for its field.")]
        ) from exc


def _unstorable(exc: DataError) -> HTTPError:
    return ValidationError(
        [
            {
                "loc": ["body"],
                "field": "body",
                "message": "A value cannot be stored (out of range, or characters the database "
                "refuses, such as NUL).",
                "type": "value_error",
            }
        ]
    )


def _conflict(exc: IntegrityError) -> HTTPError:
    return HTTPError(
        409,
        "The change conflicts with existing data (a unique value is taken, or a reference "
        "points nowhere).",
    )


def _int_param(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= maximum:
        raise ValidationError([_error(name, f"{name} must be a whole number from 1 to {maximum}.")])
    return int(raw)


def _error(field: str, message: str) -> dict[str, Any]:
    return {"loc": ["query", field], "field": field, "message": message, "type": "value_error"}
