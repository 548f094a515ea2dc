"""Handler signatures, compiled once at registration into a function that builds the arguments.

A parameter is filled, in this order of precedence, by:
- its annotation being `Request` (or a subclass): the request;
- its annotation having a provider (`App.provide(Type, factory)`): `factory(request)`;
- its name being a path parameter: the converted path value;
- its annotation being a pydantic model: the JSON or form body, validated;
- otherwise: the query string, converted to the annotation, with the default if it has one.
Conversion failures are collected and reported together as one 422.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

import pydantic

from .errors import ConfigurationError, HTTPError, ValidationError
from .requests import Request, check_json_depth
from .routing import Converter, StringConverter

ArgsBuilder = Callable[[Request], dict[str, Any]]
Provider = Callable[[Request], Any]

_MISSING = inspect.Parameter.empty
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclasses.dataclass(frozen=True)
class CompiledHandler:
    """How to call one endpoint: `build(request)` gives the keyword arguments, or None for none.

    `to_thread` says whether ASGI runs a sync endpoint in the thread pool (the default) or
    calls it on the event loop (the route declared it non-blocking with `sync_to_thread=False`).
    """

    endpoint: Callable[..., Any]
    is_async: bool
    build: ArgsBuilder | None
    body_model: type[pydantic.BaseModel] | None
    to_thread: bool = True
    # What fills each parameter, for tools that describe the endpoint (the OpenAPI generator).
    parameters: tuple[Parameter, ...] = ()


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One handler parameter and where a request fills it from.

    `source` is "path", "query", "body", "request" or "provided" (by `App.provide`);
    `default` is `inspect.Parameter.empty` when the parameter is required.
    """

    name: str
    source: str
    annotation: Any
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        """True when the request must supply a value (there is no default)."""
        return self.default is _MISSING


def is_async_callable(func: Any) -> bool:
    """True for `async def` functions and objects whose `__call__` is one."""
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - callable objects
    )


def compile_handler(
    endpoint: Callable[..., Any],
    path_converters: dict[str, Converter],
    providers: dict[Any, Provider],
    *,
    to_thread: bool = True,
) -> CompiledHandler:
    """Inspect `endpoint` once and return how to build its arguments for each request."""
    try:
        signature = inspect.signature(endpoint)
        target: Any = endpoint
        while isinstance(target, functools.partial):
            target = target.func
        if not inspect.isfunction(target) and not inspect.ismethod(target):
            target = getattr(target, "__call__", target)  # noqa: B004 - a callable object
        hints = typing.get_type_hints(target, include_extras=True)
    except (TypeError, NameError) as exc:
        raise ConfigurationError(f"Cannot read the signature of {endpoint!r}: {exc}") from exc

    fillers: list[tuple[str, Callable[[Request], Any]]] = []
    query_params: list[_QueryParam] = []
    path_conversions: list[tuple[str, pydantic.TypeAdapter[Any]]] = []
    body_model: type[pydantic.BaseModel] | None = None
    body_name = ""
    pass_path_params_as_is = True
    described: list[Parameter] = []

    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            stars = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise ConfigurationError(
                f"{_describe(endpoint)}: parameter {stars}{name} cannot be filled from a request; "
                "name each parameter."
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"{_describe(endpoint)}: positional-only parameter {name!r} cannot be filled."
            )
        annotation = _strip_annotated(hints.get(name, _MISSING))
        described.append(
            Parameter(
                name,
                _source(name, annotation, providers, path_converters),
                annotation,
                param.default,
            )
        )
        if isinstance(annotation, type) and issubclass(annotation, Request):
            fillers.append((name, _request_itself))
            pass_path_params_as_is = False
            continue
        provider = providers.get(annotation) if annotation is not _MISSING else None
        if provider is not None:
            fillers.append((name, provider))
            pass_path_params_as_is = False
            continue
        if name in path_converters:
            converter = path_converters[name]
            if (
                isinstance(converter, StringConverter)
                and annotation not in (_MISSING, str, Any)
                and not _is_optional_of(annotation, str)
            ):
                path_conversions.append((name, pydantic.TypeAdapter(annotation)))
            continue
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            if body_model is not None:
                raise ConfigurationError(
                    f"{_describe(endpoint)}: only one parameter can take the request body "
                    f"({body_name!r} and {name!r} are both pydantic models)."
                )
            body_model, body_name = annotation, name
            pass_path_params_as_is = False
            continue
        query_params.append(_QueryParam(name, annotation, param.default, endpoint))
        pass_path_params_as_is = False

    # Path values the handler does not name are simply not passed.
    path_names = [n for n in path_converters if n in signature.parameters]
    if not path_names:
        pass_path_params_as_is = pass_path_params_as_is and not path_converters
    elif len(path_names) != len(path_converters):
        pass_path_params_as_is = False

    build: ArgsBuilder | None
    if not signature.parameters:
        build = None
    elif pass_path_params_as_is and not path_conversions:
        # PERF: the route's converted path params are exactly the keyword arguments.
        def build(request: Request) -> dict[str, Any]:
            return request.path_params
    else:
        build = _make_builder(
            path_names, path_conversions, fillers, query_params, body_model, body_name
        )
    is_async = is_async_callable(endpoint)
    return CompiledHandler(
        endpoint, is_async, build, body_model, to_thread and not is_async, tuple(described)
    )


def _source(
    name: str, annotation: Any, providers: dict[Any, Provider], path: dict[str, Converter]
) -> str:
    """Where a parameter is filled from, following the precedence in the module docstring."""
    if isinstance(annotation, type) and issubclass(annotation, Request):
        return "request"
    if annotation is not _MISSING and annotation in providers:
        return "provided"
    if name in path:
        return "path"
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return "body"
    return "query"


def _make_builder(
    path_names: list[str],
    path_conversions: list[tuple[str, pydantic.TypeAdapter[Any]]],
    fillers: list[tuple[str, Callable[[Request], Any]]],
    query_params: list[_QueryParam],
    body_model: type[pydantic.BaseModel] | None,
    body_name: str,
) -> ArgsBuilder:
    def build(request: Request) -> dict[str, Any]:
        path_params = request.path_params
        kwargs = {name: path_params[name] for name in path_names}
        errors: list[dict[str, Any]] = []
        for name, adapter in path_conversions:
            try:
                kwargs[name] = adapter.validate_python(kwargs[name])
            except pydantic.ValidationError as exc:
                errors.extend(_field_errors(exc, ("path", name)))
        if query_params:
            query = request.query
            for qp in query_params:
                try:
                    value = qp.read(query)
                except pydantic.ValidationError as exc:
                    errors.extend(_field_errors(exc, ("query", qp.name)))
                    continue
                except _Missing:
                    errors.append(
                        {
                            "loc": ["query", qp.name],
                            "field": qp.name,
                            "message": "Field required",
                            "type": "missing",
                        }
                    )
                    continue
                kwargs[qp.name] = value
        if body_model is not None:
            try:
                kwargs[body_name] = _read_body(request, body_model)
            except pydantic.ValidationError as exc:
                errors.extend(_field_errors(exc, ("body",)))
        if errors:
            raise ValidationError(errors)
        for name, fill in fillers:
            kwargs[name] = fill(request)
        return kwargs

    return build


def _request_itself(request: Request) -> Request:
    return request


class UnresolvedParameterError(ConfigurationError):
    """A parameter's type is neither readable from the request nor provided (yet).

    The app retries at start-up, so `App.provide()` may come after the routes that use it.
    """


class _Missing(Exception):
    pass


class _QueryParam:
    """One query-string parameter: its name, how to convert it and its default."""

    __slots__ = ("adapter", "default", "fast", "is_list", "name")

    def __init__(self, name: str, annotation: Any, default: Any, endpoint: Any) -> None:
        self.name = name
        self.default = default
        target = str if annotation is _MISSING else annotation
        origin = get_origin(target)
        self.is_list = origin in (list, tuple, set, frozenset) or target in (list, tuple, set)
        if not self.is_list and not _is_simple(target):
            raise UnresolvedParameterError(
                f"{_describe(endpoint)}: parameter {name!r} has type {target!r}, which cannot be "
                "read from the query string. Use a simple type (str, int, float, bool, UUID, "
                "date, Enum, a list of them), a pydantic model for the body, or App.provide()."
            )
        # PERF: the common types skip pydantic entirely.
        self.fast: Callable[[str], Any] | None = {str: str}.get(target)
        self.adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(target)

    def read(self, query: Any) -> Any:
        if self.is_list:
            values = query.getlist(self.name)
            if not values:
                if self.default is _MISSING:
                    raise _Missing
                return self.default
            return self.adapter.validate_python(values)
        raw = query.get(self.name)
        if raw is None:
            if self.default is _MISSING:
                raise _Missing
            return self.default
        if self.fast is not None:
            return self.fast(raw)
        return self.adapter.validate_strings(raw)


@functools.cache
def _list_fields(model: type[pydantic.BaseModel]) -> frozenset[str]:
    """Names (and aliases) of the model's fields that hold several values, read with getlist."""
    names = set()
    for name, field in model.model_fields.items():
        annotation = _strip_annotated(field.annotation)
        if get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
        if get_origin(annotation) in (list, set, tuple, frozenset) or annotation in (list, set):
            names.add(name)
            if field.alias:
                names.add(field.alias)
    return frozenset(names)


def _read_body(request: Request, model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    content_type = request.content_type
    if content_type == "application/json" or content_type.endswith("+json"):
        return model.model_validate(request.json())
    if content_type in _FORM_TYPES:
        form = request.form()
        list_fields = _list_fields(model)
        data: dict[str, Any] = {}
        for key in form:
            values = form.getlist(key)
            data[key] = values if len(values) > 1 or key in list_fields else values[0]
        return model.model_validate(data)
    loader = _DOCUMENT_LOADERS.get(content_type)
    if loader is None and "+" in content_type:
        loader = _DOCUMENT_LOADERS.get("application/" + content_type.rpartition("+")[2])
    if loader is not None:
        body = request.body()
        if not body:
            raise HTTPError(400, f"The request body is empty; expected a {content_type} document.")
        data = loader(body)
        check_json_depth(data, request.app.settings.max_json_depth)
        return model.model_validate(data)
    if not content_type and not request.body():
        raise HTTPError(
            400, "The request has no body; expected JSON (Content-Type: application/json)."
        )
    raise HTTPError(
        415,
        f"Unsupported Content-Type {content_type or '(none)'!r}; send application/json, "
        "application/yaml, application/xml, application/x-www-form-urlencoded or "
        "multipart/form-data.",
    )


def _load_yaml(body: bytes) -> Any:
    from .formats import load_yaml

    return load_yaml(body)


def _load_xml(body: bytes) -> Any:
    from .formats import load_xml

    return load_xml(body)


# Bodies read by content type besides JSON and forms (aliases included; "+xml" suffixes too).
_DOCUMENT_LOADERS: dict[str, Callable[[bytes], Any]] = {
    "application/yaml": _load_yaml,
    "application/x-yaml": _load_yaml,
    "text/yaml": _load_yaml,
    "text/x-yaml": _load_yaml,
    "application/xml": _load_xml,
    "text/xml": _load_xml,
}


def _field_errors(exc: pydantic.ValidationError, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [*prefix, *[str(part) for part in error["loc"]]]
        field = ".".join(str(part) for part in loc[1:]) or loc[0]
        errors.append({"loc": loc, "field": field, "message": error["msg"], "type": error["type"]})
    return errors


_SIMPLE_TYPES: tuple[Any, ...] = (str, int, float, bool, bytes, uuid.UUID)


def _is_simple(annotation: Any) -> bool:
    import datetime
    import decimal
    import enum

    if annotation in _SIMPLE_TYPES or annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(
        annotation, datetime.date | datetime.time | decimal.Decimal | enum.Enum
    ):
        return True
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return all(arg is type(None) or _is_simple(arg) for arg in get_args(annotation))
    return origin is typing.Literal


def _is_optional_of(annotation: Any, target: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and set(get_args(annotation)) <= {
        target,
        type(None),
    }


def _strip_annotated(annotation: Any) -> Any:
    if get_origin(annotation) is typing.Annotated:
        return get_args(annotation)[0]
    return annotation


def _describe(endpoint: Any) -> str:
    return f"{getattr(endpoint, '__module__', '?')}.{getattr(endpoint, '__qualname__', endpoint)}"
