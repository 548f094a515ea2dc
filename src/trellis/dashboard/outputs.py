"""Output kinds: how a value returned by an output function becomes HTML (and JSON data).

Everything is escaped unless it is `markupsafe.Markup` the app built on purpose. Each renderer
returns a `Rendered`: the HTML fragment the page shows and the plain data a script may want
(`GET .../outputs/<name>` with `Accept: application/json`).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
import orjson
from markupsafe import Markup, escape

from ..images import data_uri, figure_to_bytes
from ..responses import dump_json
from .markdown import render_markdown

_JINJA = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


@dataclasses.dataclass(frozen=True)
class Rendered:
    """An output's HTML fragment and its data."""

    html: Markup
    data: Any


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """How one output is shown: its kind, a renderer, and optional push triggers."""

    kind: str
    render: Callable[[Any], Rendered]
    title: str | None = None
    refresh_every: float | None = None
    refresh_on: tuple[str, ...] = ()


def render_text(value: Any) -> Rendered:
    text = "" if value is None else str(value)
    return Rendered(Markup('<pre class="tr-text">{}</pre>').format(text), text)


def render_markdown_output(value: Any) -> Rendered:
    text = "" if value is None else str(value)
    return Rendered(render_markdown(text), text)


def html_renderer(template: str | None) -> Callable[[Any], Rendered]:
    """HTML fragments: a Jinja2 `template` (autoescaped) given the returned dict, or the value
    itself (a `Markup` is trusted as is; anything else is escaped)."""
    compiled = _JINJA.from_string(template) if template is not None else None

    def render(value: Any) -> Rendered:
        if compiled is not None:
            if not isinstance(value, Mapping):
                raise TypeError("an output with a template must return a dict of template names")
            html = Markup(compiled.render(**value))  # noqa: S704 - autoescaped template
        else:
            html = escape(value) if value is not None else Markup("")
        return Rendered(html, str(html))

    return render


def _cell(value: Any) -> Any:
    """A table cell as a JSON-safe scalar (NaN and missing values become None)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _cell(item())
    return str(value)


def table_data(value: Any, max_rows: int) -> dict[str, Any]:
    """Columns and rows from a list of dicts, a dict of columns or a pandas DataFrame."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(value, "columns"):  # pandas DataFrame
        columns = [str(c) for c in value.columns]
        records = value.head(max_rows).to_dict(orient="records")
        rows = [[_cell(r.get(c)) for c in value.columns] for r in records]
        return {"columns": columns, "rows": rows, "total": len(value)}
    if isinstance(value, Mapping):
        columns = [str(c) for c in value]
        lists = [list(v) for v in value.values()]
        count = max((len(v) for v in lists), default=0)
        rows = [[_cell(v[i]) if i < len(v) else None for v in lists] for i in range(count)]
        return {"columns": columns, "rows": rows[:max_rows], "total": count}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        columns_seen: dict[str, None] = {}
        for record in value[:max_rows]:
            if not isinstance(record, Mapping):
                raise TypeError("a table is a list of dicts, a dict of columns or a DataFrame")
            columns_seen.update(dict.fromkeys(map(str, record)))
        columns = list(columns_seen)
        rows = [[_cell(r.get(c)) for c in columns] for r in value[:max_rows]]
        return {"columns": columns, "rows": rows, "total": len(value)}
    raise TypeError(
        f"a table output returned {type(value).__name__}; return a list of dicts, a dict of "
        "columns or a pandas DataFrame"
    )


def table_renderer(
    page_size: int, sortable: bool, max_rows: int, number_format: str | None = None
) -> Callable[[Any], Rendered]:
    """A sortable, paged table (sorting and paging happen in the browser); numbers are shown
    with `number_format` (a format spec such as ',.2f') when given."""

    def cell(value: Any) -> Markup:
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = format(value, number_format) if number_format else str(value)
            return Markup('<td class="tr-num" data-value="{}">{}</td>').format(value, shown)
        return Markup("<td>{}</td>").format("" if value is None else value)

    def render(value: Any) -> Rendered:
        data = table_data(value, max_rows)
        head = Markup("").join(Markup("<th>{}</th>").format(c) for c in data["columns"])
        body = Markup("").join(
            Markup("<tr>{}</tr>").format(Markup("").join(cell(v) for v in row))
            for row in data["rows"]
        )
        note = ""
        if data["total"] > len(data["rows"]):
            note = Markup('<p class="tr-note">Showing the first {} of {} rows.</p>').format(
                len(data["rows"]), data["total"]
            )
        html = Markup(
            '<table class="tr-table" data-page-size="{}" data-sortable="{}">'
            "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}"
        ).format(page_size, "true" if sortable else "false", head, body, note)
        return Rendered(html, data)

    return render


def script_json(value: Any) -> Markup:
    """`value` as JSON safe to place inside a <script> element."""
    # SECURITY: with <, > and & escaped the text cannot close the element or open a comment.
    text = dump_json(value).decode().replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))  # noqa: S704 - escaped just above


def plot_renderer(image_format: str) -> Callable[[Any], Rendered]:
    """Plots: a matplotlib Figure (inline SVG or a PNG data URI), a Vega-Lite spec (a dict,
    drawn in the browser when vega-embed is loaded), or a plotly figure (when plotly.js is)."""
    if image_format not in ("svg", "png"):
        raise ValueError(f"plot format must be 'svg' or 'png', not {image_format!r}")

    def render(value: Any) -> Rendered:
        if hasattr(value, "savefig"):  # a matplotlib Figure
            return _render_figure(value, image_format)
        if hasattr(value, "to_plotly_json"):  # a plotly Figure
            figure = orjson.loads(value.to_json())
            return _chart("plotly", figure)
        if isinstance(value, Mapping):
            return _chart("vega-lite", dict(value))
        raise TypeError(
            f"a plot output returned {type(value).__name__}; return a matplotlib Figure, a "
            "Vega-Lite spec (dict) or a plotly Figure"
        )

    return render


def _chart(kind: str, spec: dict[str, Any]) -> Rendered:
    html = Markup(
        '<div class="tr-chart" data-chart="{}"><p class="tr-note tr-chart-fallback">'
        "This chart needs the {} library on the page.</p>"
        '<script type="application/json" class="tr-chart-spec">{}</script></div>'
    ).format(kind, "vega-embed" if kind == "vega-lite" else "plotly.js", script_json(spec))
    return Rendered(html, spec)


def _render_figure(figure: Any, image_format: str) -> Rendered:
    title = _figure_title(figure)
    if image_format == "svg":
        _deterministic_svg_ids()
    try:
        data = figure_to_bytes(figure, "svg" if image_format == "svg" else "png")
    finally:
        _close_figure(figure)
    # An <img> with a data URI, not inline SVG: matplotlib styles every element with a style
    # attribute, which a Content-Security-Policy without 'unsafe-inline' (the default) blocks,
    # and an image document cannot run scripts.
    uri = data_uri(data, image_format)
    html = Markup('<img class="tr-plot" alt="{}" src="{}">').format(title, uri)
    return Rendered(html, data.decode() if image_format == "svg" else uri)


def _figure_title(figure: Any) -> str:
    texts = [t.get_text() for t in getattr(figure, "texts", [])]
    for axes in figure.get_axes():
        texts.append(axes.get_title())
    return "; ".join(t for t in texts if t) or "chart"


def _deterministic_svg_ids() -> None:
    # Every process must render the same SVG for the same inputs (no sticky sessions, cacheable
    # replies); matplotlib's element ids are random unless a hash salt is set. Set one only if
    # the app has not chosen its own.
    import matplotlib

    if matplotlib.rcParams["svg.hashsalt"] is None:
        matplotlib.rcParams["svg.hashsalt"] = "trellis"


def _close_figure(figure: Any) -> None:
    # Figures made with pyplot are registered with it and must be closed to free them;
    # `matplotlib.figure.Figure()` objects (thread-safe, preferred) are not.
    if getattr(figure.canvas, "manager", None) is not None:
        import matplotlib.pyplot as plt

        plt.close(figure)


def value_box_renderer(title: str, fmt: str | None) -> Callable[[Any], Rendered]:
    """A value box: a big number or word under a title; `fmt` is a format spec like ',.0f'."""

    def render(value: Any) -> Rendered:
        shown = format(value, fmt) if fmt is not None else str(value)
        html = Markup(
            '<div class="tr-valuebox"><div class="tr-valuebox-title">{}</div>'
            '<div class="tr-valuebox-value">{}</div></div>'
        ).format(title, shown)
        return Rendered(html, _cell(value))

    return render
