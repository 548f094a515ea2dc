"""OpenAPI 3.1 documents generated from an app's routes and type hints, and a docs page.

    from trellis.openapi import OpenAPI

    OpenAPI(app, title="Model API", version="1.0")   # serves /openapi.json and /docs

Everything comes from what the app already knows: path parameters and their converters, query
parameters with their types and defaults, the pydantic model a handler takes as its body, and the
handler's return annotation (the success response). Route options refine it:

- `tags=["models"]`, `summary="..."`, `description="..."`, `deprecated=True`, `operation_id="..."`;
- `responses={201: Item, 404: "No such item", 409: {"description": ..., "headers": ...}}`: extra
  or replacement responses, each a type (its JSON schema), a description, or a Response Object
  (without `content`, the first success takes the return type's and errors problem+json);
- `parameters=[{...}]`: more Parameter Objects (headers, or query parameters a handler reads
  from `request.query` itself); `errors=[409]`: more error statuses (problem+json);
- `include_in_schema=False` hides a route (the docs routes themselves are hidden).

Routes that need an API key (`@requires_scope`, or an `APIKey` parameter) get the API key
security schemes and 401/403/429 responses.

The document is built on first request and cached until routes are added; nothing here runs on
the request path of other routes.
"""

from __future__ import annotations

import contextlib
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from html import escape
from importlib import resources
from typing import Any, Union, get_args, get_origin

import pydantic
from pydantic.json_schema import JsonSchemaMode
from pydantic_core import PydanticSerializationError

from .errors import ConfigurationError
from .handlers import CompiledHandler
from .requests import Request
from .responses import JSONResponse, Response
from .routing import (
    Converter,
    FloatConverter,
    IntConverter,
    PathConverter,
    Route,
    SlugConverter,
    StringConverter,
    UUIDConverter,
)

if typing.TYPE_CHECKING:
    from .app import App

OPENAPI_VERSION = "3.1.0"
# OPTIONS is answered for every path by the app itself; it is not an operation of the API.
_OPERATION_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "TRACE"})
_MISSING = inspect.Parameter.empty

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field (validation errors only).",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "field", "message", "type"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}

_ERROR_DESCRIPTIONS = {
    400: "The body could not be parsed.",
    401: "No valid API key was sent.",
    403: "The API key lacks a required scope.",
    404: "Nothing matches the path.",
    409: "The request conflicts with the current state.",
    412: "The resource changed since it was read (If-Match did not match).",
    413: "The body is too large.",
    415: "The body's Content-Type is not supported.",
    422: "The input did not validate; `errors` lists each problem.",
    428: "The request must be conditional (send If-Match).",
    429: "Too many requests; retry after the time in Retry-After.",
}

API_KEY_SCHEMES: dict[str, Any] = {
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key in the X-API-Key header (never in the query string).",
    },
    "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "The same API key as `Authorization: Bearer <key>`.",
    },
}


def generate_openapi(
    app: App,
    *,
    title: str = "API",
    version: str = "0.1.0",
    description: str | None = None,
    servers: list[dict[str, Any]] | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every visible route of `app`, as a JSON-ready dict."""
    builder = _DocumentBuilder()
    for route in app.routes:
        if _is_visible(route):
            builder.add_route(route)
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
    if servers:
        document["servers"] = servers
    document["paths"] = builder.paths
    document["components"] = builder.components()
    known_tags = [dict(tag) for tag in tags or ()]
    named = {tag["name"] for tag in known_tags}
    known_tags += [{"name": name} for name in builder.tags if name not in named]
    if known_tags:
        document["tags"] = known_tags
    return document


class OpenAPI:
    """Serve the app's OpenAPI document at `json_path` and a docs page at `docs_path`.

    The docs page is self-contained (its script and styles are served by the app, no CDN), lists
    every endpoint with its parameters, bodies and responses, and can send real requests
    ("Try it"), with an API key when the endpoint needs one. Pass `docs_path=None` to serve the
    JSON document only.
    """

    def __init__(
        self,
        app: App,
        *,
        title: str = "API",
        version: str = "0.1.0",
        description: str | None = None,
        servers: list[dict[str, Any]] | None = None,
        tags: list[dict[str, Any]] | None = None,
        json_path: str = "/openapi.json",
        docs_path: str | None = "/docs",
    ) -> None:
        self.app = app
        self.title = title
        self.version = version
        self.description = description
        self.servers = servers
        self.tags = tags
        self.json_path = json_path
        self.docs_path = docs_path
        self._cache: dict[str, tuple[int, bytes]] = {}
        app.add_route(
            json_path, self._serve_document, ("GET",), name="openapi", include_in_schema=False
        )
        if docs_path is not None:
            app.add_route(
                docs_path, self._serve_docs, ("GET",), name="openapi_docs", include_in_schema=False
            )
            for asset in _DOCS_ASSETS:
                app.add_route(
                    f"{docs_path.rstrip('/')}/{asset}",
                    _asset_endpoint(asset),
                    ("GET",),
                    name=f"openapi_docs_{asset.replace('.', '_')}",
                    include_in_schema=False,
                )

    def document(self, root_path: str = "") -> dict[str, Any]:
        """The OpenAPI document; under a mount (`root_path`) the server URL is the mount point."""
        servers = self.servers
        if servers is None and root_path:
            servers = [{"url": root_path}]
        return generate_openapi(
            self.app,
            title=self.title,
            version=self.version,
            description=self.description,
            servers=servers,
            tags=self.tags,
        )

    def _serve_document(self, request: Request) -> Response:
        root_path = request.root_path
        cached = self._cache.get(root_path)
        # The document depends only on the routes: rebuild only when routes were added.
        if cached is None or cached[0] != len(self.app.routes):
            body = JSONResponse(self.document(root_path)).body
            cached = self._cache[root_path] = (len(self.app.routes), body)
        return Response(cached[1], media_type="application/json")

    def _serve_docs(self, request: Request) -> Response:
        root = request.root_path
        assets = f"{root}{(self.docs_path or '').rstrip('/')}"
        page = (
            _read_asset("index.html")
            .replace("{{title}}", escape(self.title))
            .replace("{{spec_url}}", escape(root + self.json_path))
            .replace("{{assets}}", escape(assets))
        )
        return Response(page, media_type="text/html; charset=utf-8")


_DOCS_ASSETS = {"docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8"}


def _read_asset(name: str) -> str:
    return (resources.files("trellis") / "static" / "docs" / name).read_text(encoding="utf-8")


def _asset_endpoint(name: str) -> Callable[[], Response]:
    body = _read_asset(name).encode()

    def serve_asset() -> Response:
        return Response(body, media_type=_DOCS_ASSETS[name], headers={"cache-control": "no-cache"})

    return serve_asset


# -- building the document ---------------------------------------------------------------------


def _is_visible(route: Route) -> bool:
    return bool(route.options.get("include_in_schema", True))


def openapi_path(route: Route) -> str:
    """The route's path as an OpenAPI path template: `{id:int}` becomes `{id}`."""
    parts = [s if isinstance(s, str) else "{" + s[0] + "}" for s in route.segments]
    return "/" + "/".join(parts)


class _DocumentBuilder:
    """Collects operations; schemas for types are made in two batches at the end so that every
    model appears once under `components/schemas` and references resolve."""

    def __init__(self) -> None:
        self.paths: dict[str, dict[str, Any]] = {}
        self.tags: list[str] = []
        self.uses_api_keys = False
        self.uses_problem = False
        # (slot to fill, key) for each type whose schema is still to be made.
        self._pending: dict[JsonSchemaMode, list[tuple[dict[str, Any], Any]]] = {
            "validation": [],
            "serialization": [],
        }
        self._definitions: dict[str, Any] = {}
        self._operation_ids: set[str] = set()

    # -- one route --

    def add_route(self, route: Route) -> None:
        handler: CompiledHandler | None = route.call
        # WebSocket routes (and anything else that is not an HTTP operation) are left out.
        methods = sorted(m for m in route.methods if m in _OPERATION_METHODS)
        if route.implicit_head:
            methods.remove("HEAD")
        if not methods:
            return
        path_item = self.paths.setdefault(openapi_path(route), {})
        for method in methods:
            operation_id = str(route.options.get("operation_id") or route.name)
            if len(methods) > 1:
                operation_id = f"{operation_id}_{method.lower()}"
            if operation_id in self._operation_ids:
                raise ConfigurationError(
                    f"Two routes would have the OpenAPI operationId {operation_id!r}; give one "
                    "of them operation_id=... or another name."
                )
            self._operation_ids.add(operation_id)
            path_item[method.lower()] = self._operation(route, handler, method, operation_id)

    def _operation(
        self, route: Route, handler: CompiledHandler | None, method: str, operation_id: str
    ) -> dict[str, Any]:
        options = route.options
        operation: dict[str, Any] = {"operationId": operation_id}
        summary, description = _docstring_parts(route.endpoint)
        summary = options.get("summary") or summary or route.name.replace("_", " ").capitalize()
        operation["summary"] = summary
        description = options.get("description") or description
        if description:
            operation["description"] = description
        tags = list(options.get("tags") or ())
        if not tags and "." in route.name:
            tags = [route.name.split(".", 1)[0]]  # the name of the Router it came from
        if tags:
            operation["tags"] = tags
            self.tags += [tag for tag in tags if tag not in self.tags]
        if options.get("deprecated"):
            operation["deprecated"] = True

        described = handler.parameters if handler is not None else ()
        annotations = {p.name: p.annotation for p in described}
        errors: set[int] = set()
        parameters = []
        for name, converter in route.param_converters.items():
            parameters.append(self._path_parameter(name, converter, annotations.get(name)))
            if isinstance(converter, StringConverter) and annotations.get(name) not in (
                None,
                _MISSING,
                str,
                Any,
            ):
                errors.add(422)
        if route.param_converters:
            errors.add(404)
        for param in described:
            if param.source == "query":
                parameters.append(self._query_parameter(param.name, param.annotation, param))
                errors.add(422)
        parameters += [dict(extra) for extra in options.get("parameters", ())]
        if parameters:
            operation["parameters"] = parameters
        if handler is not None and handler.body_model is not None:
            schema: dict[str, Any] = {}
            self._schema_later(schema, handler.body_model, "validation")
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
            errors.update((400, 413, 415, 422))

        scopes = _required_scopes(route, described)
        if scopes is not None:
            self.uses_api_keys = True
            operation["security"] = [{name: sorted(scopes)} for name in API_KEY_SCHEMES]
            errors.update((400, 401, 403, 429))
        errors.update(int(code) for code in options.get("errors", ()))
        operation["responses"] = self._responses(route, errors)
        return operation

    def _path_parameter(self, name: str, converter: Converter, annotation: Any) -> dict[str, Any]:
        schema: dict[str, Any]
        if isinstance(converter, StringConverter) and annotation not in (None, _MISSING, str, Any):
            schema = {}
            self._schema_later(schema, annotation, "validation")
        else:
            schema = _converter_schema(converter)
        return {"name": name, "in": "path", "required": True, "schema": schema}

    def _query_parameter(self, name: str, annotation: Any, param: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        if annotation is _MISSING:
            schema["type"] = "string"
        else:
            self._schema_later(schema, annotation, "validation")
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": param.required}
        if not param.required and param.default is not None:
            with contextlib.suppress(PydanticSerializationError, TypeError, ValueError):
                schema["default"] = pydantic.TypeAdapter(Any).dump_python(
                    param.default, mode="json"
                )
        parameter["schema"] = schema
        return parameter

    def _responses(self, route: Route, errors: set[int]) -> dict[str, Any]:
        declared: dict[str, Any] = {
            str(code): value for code, value in dict(route.options.get("responses") or {}).items()
        }
        responses: dict[str, Any] = {}
        success = [code for code in declared if code.startswith("2")]
        returned = _return_annotation(route.endpoint)
        derived = self._success_responses(returned)
        if not success:
            responses.update(derived)
        first_success = min(success, default=None)
        derived_content = next(iter(derived.values())).get("content") if derived else None
        for code, value in declared.items():
            if isinstance(value, dict | str):
                response = dict(value) if isinstance(value, dict) else {"description": value}
                responses[code] = response
                if "content" in response:
                    continue
                if code[0] in "45":
                    response["content"] = self._problem_content()
                elif code == first_success and derived_content:
                    # The handler's return type describes the first declared success status.
                    response["content"] = derived_content
            elif value is None:
                responses[code] = {"description": _status_phrase(int(code))}
            else:
                responses[code] = self._json_response(_status_phrase(int(code)), value)
        for status in sorted(errors):
            if str(status) not in responses:
                responses[str(status)] = {
                    "description": _ERROR_DESCRIPTIONS.get(status, _status_phrase(status)),
                    "content": self._problem_content(),
                }
        return dict(sorted(responses.items()))

    def _problem_content(self) -> dict[str, Any]:
        self.uses_problem = True
        return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

    def _success_responses(self, annotation: Any) -> dict[str, Any]:
        if annotation is _MISSING or annotation is Any:
            return {"200": {"description": "OK"}}
        if annotation is None or annotation is type(None):
            return {"204": {"description": "No Content"}}
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType) and type(None) in get_args(annotation):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            inner = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
            return {**self._success_responses(inner), "204": {"description": "No Content"}}
        if isinstance(annotation, type):
            if issubclass(annotation, Response):
                return {"200": {"description": "OK"}}  # any content: the handler decides
            if issubclass(annotation, str):
                text = {"schema": {"type": "string"}}
                return {"200": {"description": "OK", "content": {"text/html": text}}}
            if issubclass(annotation, bytes):
                octets = "application/octet-stream"
                binary = {"schema": {"type": "string", "contentMediaType": octets}}
                return {"200": {"description": "OK", "content": {octets: binary}}}
        return {"200": self._json_response("OK", annotation)}

    def _json_response(self, description: str, annotation: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        self._schema_later(schema, annotation, "serialization")
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    # -- schemas --

    def _schema_later(self, slot: dict[str, Any], annotation: Any, mode: JsonSchemaMode) -> None:
        self._pending[mode].append((slot, annotation))

    def components(self) -> dict[str, Any]:
        """Make every pending schema, then return the Components Object."""
        self._resolve("validation", by_alias=True)
        # Handlers' return values are dumped by field name (model_dump(mode="json")).
        self._resolve("serialization", by_alias=False)
        schemas = dict(sorted(self._definitions.items()))
        if self.uses_problem:
            schemas["Problem"] = PROBLEM_SCHEMA
        components: dict[str, Any] = {}
        if schemas:
            components["schemas"] = schemas
        if self.uses_api_keys:
            components["securitySchemes"] = API_KEY_SCHEMES
        return components

    def _resolve(self, mode: JsonSchemaMode, *, by_alias: bool) -> None:
        pending = self._pending[mode]
        adapters: list[tuple[int, JsonSchemaMode, pydantic.TypeAdapter[Any]]] = []
        for index, (_, annotation) in enumerate(pending):
            adapter = _adapter_for(annotation, mode)
            if adapter is None:
                continue  # a type pydantic cannot describe: any value ({})
            adapters.append((index, mode, adapter))
        if not adapters:
            return
        marker = "#/$trellis-defs/"
        schemas, definitions = pydantic.TypeAdapter.json_schemas(
            adapters, by_alias=by_alias, ref_template=marker + "{model}"
        )
        # Merge this batch's definitions into the document's, renaming on a clash.
        renames: dict[str, str] = {}
        for name, definition in definitions.get("$defs", {}).items():
            target = name
            existing = self._definitions.get(target)
            if existing is not None and existing != _rewrite_refs(definition, marker, renames):
                suffix = "Input" if mode == "validation" else "Output"
                target = _free_name(name + suffix, self._definitions, definitions["$defs"])
            renames[name] = target
        for name, definition in definitions.get("$defs", {}).items():
            self._definitions[renames[name]] = _rewrite_refs(definition, marker, renames)
        for (index, _), schema in schemas.items():
            pending[index][0].update(_rewrite_refs(schema, marker, renames))
        pending.clear()


def _free_name(name: str, *taken: dict[str, Any]) -> str:
    candidate, number = name, 2
    while any(candidate in names for names in taken):
        candidate, number = f"{name}{number}", number + 1
    return candidate


def _rewrite_refs(value: Any, marker: str, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith(marker):
                name = item[len(marker) :]
                out[key] = "#/components/schemas/" + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(item, marker, renames)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, marker, renames) for item in value]
    return value


def _adapter_for(annotation: Any, mode: JsonSchemaMode) -> pydantic.TypeAdapter[Any] | None:
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
        adapter.json_schema(mode=mode)
    except (pydantic.PydanticUserError, pydantic.errors.PydanticInvalidForJsonSchema, TypeError):
        return None
    return adapter


_CONVERTER_SCHEMAS: dict[type[Converter], dict[str, Any]] = {
    IntConverter: {"type": "integer", "minimum": 0},
    FloatConverter: {"type": "number", "minimum": 0},
    UUIDConverter: {"type": "string", "format": "uuid"},
    SlugConverter: {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
    PathConverter: {"type": "string", "minLength": 1},
    StringConverter: {"type": "string", "pattern": "^[^/]+$"},
}


def _converter_schema(converter: Converter) -> dict[str, Any]:
    """The JSON schema of a path segment: a converter may declare its own `json_schema`."""
    own = getattr(converter, "json_schema", None)
    if isinstance(own, dict):
        return dict(own)
    for cls in type(converter).__mro__:
        schema = _CONVERTER_SCHEMAS.get(cls)
        if schema is not None:
            return dict(schema)
    return {"type": "string"}


def _required_scopes(route: Route, described: Iterable[Any]) -> frozenset[str] | None:
    """The scopes a route needs, or None when it needs no API key at all."""
    from .auth.scopes import APIKey, required_scopes

    scopes = required_scopes(route)
    if scopes is None and any(p.source == "provided" and p.annotation is APIKey for p in described):
        return frozenset()
    return scopes


def _return_annotation(endpoint: Any) -> Any:
    target = endpoint
    if not inspect.isfunction(target) and not inspect.ismethod(target):
        target = getattr(target, "__call__", target)  # noqa: B004 - a callable object
    try:
        hints = typing.get_type_hints(target, include_extras=False)
    except (NameError, TypeError):
        return _MISSING
    return hints.get("return", _MISSING)


def _docstring_parts(endpoint: Any) -> tuple[str, str]:
    doc = inspect.getdoc(endpoint) or ""
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _status_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Response"
