"""Content negotiation: which of the formats we can produce does the client prefer?

`parse_accept`/`best_match` read the Accept header; `RendererRegistry` (`app.renderers`) holds
the renderers (JSON, YAML, XML, CSV, HTML via a template) that turn returned data into a body.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, HTTPError
from .mediatypes import content_type
from .responses import Response, dump_json

if TYPE_CHECKING:
    from .requests import Request
    from .routing import Route


@lru_cache(maxsize=256)
def parse_accept(header: str) -> tuple[tuple[str, float, int], ...]:
    """Parse an Accept header into (media type, q, specificity), best first.

    Malformed entries are skipped; a missing q means 1; q outside 0..1 is clamped.
    """
    entries = []
    for position, item in enumerate(header.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0) if math.isfinite(q) else 0.0
        kind, _, sub = media.partition("/")
        specificity = 0 if kind == "*" else 1 if sub == "*" else 2
        entries.append((media, q, specificity, position))
    entries.sort(key=lambda e: (-e[1], -e[2], e[3]))
    return tuple((media, q, spec) for media, q, spec, _ in entries)


def _quality(offer: str, accepted: tuple[tuple[str, float, int], ...]) -> float:
    kind, _, sub = offer.partition("/")
    # Most specific range wins: the exact type, then a structured-syntax suffix
    # (application/json covers application/problem+json, RFC 6839), then type/*, then */*.
    best_rank = -1
    best_q = 0.0
    for media, q, _ in accepted:
        a_kind, _, a_sub = media.partition("/")
        if media == offer:
            rank = 3
        elif a_kind == kind and a_sub != "*" and sub.endswith("+" + a_sub):
            rank = 2
        elif a_kind == kind and a_sub == "*":
            rank = 1
        elif a_kind == "*":
            rank = 0
        else:
            continue
        if rank > best_rank:
            best_rank, best_q = rank, q
    return best_q


def best_match(header: str | None, offers: tuple[str, ...]) -> str | None:
    """The offer the client likes best (ties go to the earlier offer); None if it accepts none.

    No Accept header means anything is acceptable, so the first offer wins.
    """
    if not header:
        return offers[0] if offers else None
    accepted = parse_accept(header)
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q = _quality(offer, accepted)
        if q > best_q:
            best, best_q = offer, q
    return best


# -- renderers ------------------------------------------------------------------------------


class Renderer:
    """Turns data a handler returned into the bytes of one media type.

    Subclass it (set `media_type`, `format`, and override `render`) and register it with
    `app.renderers.add(renderer)`. `quality` is the server's own preference (0..1), multiplied
    with the client's q-value, so a format the client ranks only slightly higher does not beat
    JSON; `aliases` are other names of the type that clients send (answered as `media_type`).
    """

    media_type: str = "application/octet-stream"
    format: str = ""
    quality: float = 1.0
    aliases: tuple[str, ...] = ()

    def can_render(self, data: Any, request: Request) -> bool:
        """Whether this renderer applies to `data` on this route (e.g. CSV needs rows)."""
        return True

    def render(self, data: Any, request: Request) -> bytes | str:
        """The body for `data`."""
        raise NotImplementedError

    def response(self, data: Any, request: Request) -> Response:
        """A Response with the body and the right Content-Type (charset included)."""
        return Response(self.render(data, request), media_type=content_type(self.media_type))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.media_type}>"


class JSONRenderer(Renderer):
    media_type = "application/json"
    format = "json"

    def render(self, data: Any, request: Request) -> bytes:
        return dump_json(data)


class YAMLRenderer(Renderer):
    media_type = "application/yaml"
    format = "yaml"
    quality = 0.8
    aliases = ("application/x-yaml", "text/yaml", "text/x-yaml")

    def render(self, data: Any, request: Request) -> bytes:
        from .formats import dump_yaml

        return dump_yaml(data)


class XMLRenderer(Renderer):
    media_type = "application/xml"
    format = "xml"
    quality = 0.8
    aliases = ("text/xml",)

    def render(self, data: Any, request: Request) -> bytes:
        from .formats import dump_xml

        return dump_xml(data)


class CSVRenderer(Renderer):
    """Tabular data only: a list of records or rows."""

    media_type = "text/csv"
    format = "csv"
    quality = 0.8

    def can_render(self, data: Any, request: Request) -> bool:
        from .formats import is_tabular

        return is_tabular(data)

    def render(self, data: Any, request: Request) -> bytes:
        from .formats import dump_csv

        return dump_csv(data)


class HTMLRenderer(Renderer):
    """Renders the route's `template=` with the data: a dict's keys are the template's names;
    anything else is `data`. Applies only to routes that name a template.
    """

    media_type = "text/html"
    format = "html"

    def can_render(self, data: Any, request: Request) -> bool:
        route = request.route
        return route is not None and "template" in route.options

    def render(self, data: Any, request: Request) -> str:
        assert request.route is not None
        name = request.route.options["template"]
        context = _template_context(data)
        context.setdefault("data", data)
        return request.app.templates.render_string(name, context, request)


def _template_context(data: Any) -> dict[str, Any]:
    """A dict's items, or a model's or dataclass's fields, as template names."""
    if isinstance(data, dict):
        return {str(key): value for key, value in data.items()}
    fields = getattr(type(data), "model_fields", None)  # pydantic models
    if isinstance(fields, dict):
        return {name: getattr(data, name) for name in fields}
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return {field.name: getattr(data, field.name) for field in dataclasses.fields(data)}
    return {}


class RendererRegistry:
    """The renderers an app negotiates between, in order of preference for ties.

    `add(renderer, default=False)` registers a renderer that only routes naming it in
    `produces=[...]` use. `format_param` (off by default) names a query parameter such as
    `?format=yaml` that overrides the Accept header.
    """

    def __init__(self, format_param: str | None = None) -> None:
        self._renderers: list[Renderer] = []
        self._defaults: list[Renderer] = []
        self._format_param = format_param or None
        self._route_renderers: dict[Any, tuple[Renderer, ...]] = {}
        # True while a non-negotiating route may answer plain JSON without asking anyone.
        self.fast_json = False
        for renderer in (
            JSONRenderer(),
            YAMLRenderer(),
            XMLRenderer(),
            CSVRenderer(),
            HTMLRenderer(),
        ):
            self.add(renderer)

    @property
    def format_param(self) -> str | None:
        """The query parameter that overrides Accept (`?format=yaml`), or None (the default)."""
        return self._format_param

    @format_param.setter
    def format_param(self, name: str | None) -> None:
        self._format_param = name or None
        self._update_fast_json()

    def _update_fast_json(self) -> None:
        self.fast_json = (
            self._format_param is None
            and bool(self._defaults)
            and type(self._defaults[0]) is JSONRenderer
        )

    def add(self, renderer: Renderer, *, default: bool = True) -> None:
        """Register `renderer` (replacing one for the same media type)."""
        if not isinstance(renderer, Renderer):
            raise ConfigurationError(
                f"{renderer!r} is not a trellis.negotiation.Renderer; subclass it."
            )
        self._renderers = [r for r in self._renderers if r.media_type != renderer.media_type]
        self._defaults = [r for r in self._defaults if r.media_type != renderer.media_type]
        self._renderers.append(renderer)
        if default:
            self._defaults.append(renderer)
        self._route_renderers.clear()
        self._update_fast_json()

    def __iter__(self) -> Iterator[Renderer]:
        return iter(self._renderers)

    def get(self, key: str) -> Renderer | None:
        """The renderer for a media type, an alias of one, or a format name."""
        key = key.lower()
        for renderer in self._renderers:
            if key == renderer.media_type or key == renderer.format or key in renderer.aliases:
                return renderer
        return None

    def for_route(self, route: Route | None) -> tuple[Renderer, ...]:
        """The renderers a route may use: its `produces=[...]` if it says, else the defaults."""
        if route is None:
            return tuple(self._defaults)
        cached = self._route_renderers.get(route)
        if cached is None:
            produces = route.options.get("produces")
            if produces is None:
                cached = tuple(self._defaults)
            else:
                chosen = []
                for entry in produces:
                    renderer = entry if isinstance(entry, Renderer) else self.get(str(entry))
                    if renderer is None:
                        known = ", ".join(r.media_type for r in self._renderers)
                        raise ConfigurationError(
                            f"Route {route.path!r}: produces={produces!r} names {entry!r}, which "
                            f"no renderer handles. Known: {known}; add one with "
                            "app.renderers.add(...)."
                        )
                    chosen.append(renderer)
                cached = tuple(chosen)
            self._route_renderers[route] = cached
        return cached

    def choose(self, data: Any, request: Request) -> Renderer:
        """The renderer for `data` that the client prefers; HTTPError 406 when none fits."""
        candidates = [r for r in self.for_route(request.route) if r.can_render(data, request)]
        if self.format_param is not None:
            wanted = request.query.get(self.format_param)
            if wanted is not None:
                for renderer in candidates:
                    if wanted.lower() == renderer.format:
                        return renderer
                raise HTTPError(
                    406,
                    f"?{self.format_param}={wanted} is not available here; choose one of: "
                    f"{', '.join(r.format for r in candidates) or '(none)'}.",
                )
        accept = request.accept_header()
        # A route's own `produces=[...]` order is its preference; elsewhere renderers' quality.
        route = request.route
        own_order = route is not None and "produces" in route.options
        best = _best_renderer(accept, candidates, not own_order)
        if best is None:
            offered = ", ".join(r.media_type for r in candidates) or "(none)"
            raise HTTPError(
                406,
                f"None of the formats in the Accept header ({accept}) can be produced here; "
                f"available: {offered}.",
            )
        return best


def _best_renderer(
    accept: str | None, candidates: list[Renderer], weigh: bool = True
) -> Renderer | None:
    accepted = parse_accept(accept) if accept else ()
    if not accepted:
        # No Accept header, or one with no media range in it at all: anything goes.
        return candidates[0] if candidates else None
    best: Renderer | None = None
    best_q = 0.0
    for renderer in candidates:
        q = _quality(renderer.media_type, accepted)
        for alias in renderer.aliases:
            q = max(q, _quality(alias, accepted))
        if weigh:
            q *= renderer.quality
        if q > best_q:
            best, best_q = renderer, q
    return best
