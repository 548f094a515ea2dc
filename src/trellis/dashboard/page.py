"""`Dashboard`: a page defined in Python, its inputs, calcs, outputs and layout.

    page = Dashboard("Sales", sidebar=[Select("region", ["North", "South"])],
                     body=[Row(Card("Trend", "trend"), Card("Rows", "rows"))])

    @page.calc
    def filtered(region): ...

    @page.plot()
    def trend(filtered): ...

The graph is built and checked (unknown names, cycles) by `page.graph`, which
`app.mount_dashboard` calls, so a mistake fails at import time in every process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from markupsafe import Markup

from .inputs import Input, check_name
from .outputs import (
    OutputSpec,
    Rendered,
    html_renderer,
    plot_renderer,
    render_markdown_output,
    render_text,
    table_renderer,
    value_box_renderer,
)
from .reactive import Graph, GraphError

F = TypeVar("F", bound=Callable[..., Any])
Child = Any  # an Input, an output name (str), a layout element or Markup


# -- layout --


@dataclasses.dataclass(init=False)
class Layout:
    """A layout element holding children: inputs, output names, other layout elements."""

    children: tuple[Child, ...]
    css_class = "tr-layout"

    def __init__(self, *children: Child) -> None:
        self.children = children


class Row(Layout):
    """Children side by side (wrapping on narrow screens)."""

    css_class = "tr-row"


class Column(Layout):
    """Children stacked; `width` is a share of the row (1 = equal to a default sibling)."""

    css_class = "tr-column"

    def __init__(self, *children: Child, width: int = 1) -> None:
        if width not in range(1, 7):
            raise ValueError(f"Column width is a whole number from 1 to 6, not {width!r}.")
        super().__init__(*children)
        self.width = width


class Card(Layout):
    """A titled box around its children."""

    css_class = "tr-card"

    def __init__(self, title: str, *children: Child) -> None:
        super().__init__(*children)
        self.title = title


class Tab(Layout):
    """One tab of `Tabs`."""

    css_class = "tr-tab"

    def __init__(self, title: str, *children: Child) -> None:
        super().__init__(*children)
        self.title = title


class Tabs(Layout):
    """Tabs; the first is shown first. Every tab's outputs stay live."""

    css_class = "tr-tabs"

    def __init__(self, *tabs: Tab) -> None:
        for tab in tabs:
            if not isinstance(tab, Tab):
                raise TypeError(f"Tabs holds Tab(...) elements, not {type(tab).__name__}")
        super().__init__(*tabs)


def walk(children: Iterable[Child]) -> Iterable[Child]:
    """Every element below `children`, depth first."""
    for child in children:
        yield child
        if isinstance(child, Layout):
            yield from walk(child.children)


# -- the page --


class Dashboard:
    """A reactive page: inputs in `sidebar` (and anywhere in `body`), outputs placed by name.

    Outputs not placed in `body` are appended to it in the order they were defined.
    """

    def __init__(
        self,
        title: str,
        *,
        sidebar: Sequence[Child] = (),
        body: Sequence[Child] = (),
        description: str = "",
        scripts: Sequence[str] = (),
    ) -> None:
        self.title = title
        self.description = description
        self.sidebar = tuple(sidebar)
        self.body = tuple(body)
        # Extra script URLs (a vendored vega-embed or plotly.js) loaded before the runtime.
        self.scripts = tuple(scripts)
        self.inputs: dict[str, Input] = {}
        for child in walk((*self.sidebar, *self.body)):
            if isinstance(child, Input):
                if child.name in self.inputs:
                    raise GraphError(f"Two inputs are named {child.name!r}; names must be unique.")
                self.inputs[child.name] = child
        self._calcs: dict[str, Callable[..., Any]] = {}
        self._cached: set[str] = set()
        self._outputs: dict[str, Callable[..., Any]] = {}
        self.output_specs: dict[str, OutputSpec] = {}
        self._graph: Graph | None = None

    # -- declaring calcs and outputs --

    def calc(self, func: F | None = None, *, cache: bool = False) -> Any:
        """Declare a calc: a shared intermediate value, computed at most once per update.

        `cache=True` also keeps results in a process-local memo keyed by the inputs it reads.
        """

        def register(f: F) -> F:
            self._add(self._calcs, f)
            if cache:
                self._cached.add(f.__name__)
            return f

        return register(func) if func is not None else register

    def _add(self, table: dict[str, Callable[..., Any]], func: Callable[..., Any]) -> None:
        if self._graph is not None:
            raise GraphError(
                f"Cannot add {func.__name__!r}: dashboard {self.title!r} is already mounted. "
                "Define every calc and output before mount_dashboard."
            )
        name = check_name(func.__name__, "Calc or output")
        if name in self._calcs or name in self._outputs:
            raise GraphError(f"{name!r} is defined twice in dashboard {self.title!r}.")
        table[name] = func

    def output(
        self,
        kind: str,
        render: Callable[[Any], Rendered],
        *,
        title: str | None = None,
        refresh_every: float | None = None,
        refresh_on: str | Sequence[str] = (),
    ) -> Callable[[F], F]:
        """Declare an output of a custom `kind` rendered by `render(value) -> Rendered`.

        `refresh_every` (seconds) re-renders it on a timer; `refresh_on` when the app publishes
        one of those events (`publish(app, event)`).
        """
        if refresh_every is not None and refresh_every < 0.5:
            raise ValueError("refresh_every must be at least 0.5 seconds")
        events = (refresh_on,) if isinstance(refresh_on, str) else tuple(refresh_on)

        def register(func: F) -> F:
            self._add(self._outputs, func)
            self.output_specs[func.__name__] = OutputSpec(
                kind, render, title, refresh_every, events
            )
            return func

        return register

    def text(self, **options: Any) -> Callable[[F], F]:
        """An output shown as preformatted text."""
        return self.output("text", render_text, **options)

    def markdown(self, **options: Any) -> Callable[[F], F]:
        """An output whose returned string is rendered as (safe) Markdown."""
        return self.output("markdown", render_markdown_output, **options)

    def html(self, template: str | None = None, **options: Any) -> Callable[[F], F]:
        """An HTML fragment: a Jinja2 `template` given the returned dict, or the returned value
        (escaped unless it is `Markup`)."""
        return self.output("html", html_renderer(template), **options)

    def table(
        self,
        *,
        page_size: int = 10,
        sortable: bool = True,
        max_rows: int = 5000,
        number_format: str | None = None,
        **options: Any,
    ) -> Callable[[F], F]:
        """A table from a list of dicts, a dict of columns or a pandas DataFrame.

        Sorting and paging happen in the browser; at most `max_rows` rows are sent.
        """
        render = table_renderer(page_size, sortable, max_rows, number_format)
        return self.output("table", render, **options)

    def plot(self, format: str = "svg", **options: Any) -> Callable[[F], F]:
        """A matplotlib Figure (SVG or PNG), a Vega-Lite spec or a plotly figure."""
        return self.output("plot", plot_renderer(format), **options)

    def value_box(self, title: str, *, format: str | None = None, **opts: Any) -> Callable[[F], F]:
        """A big value under `title`; `format` is a format spec such as ',.0f'."""
        return self.output("valuebox", value_box_renderer(title, format), title=title, **opts)

    # -- the frozen graph --

    @property
    def graph(self) -> Graph:
        """The checked dependency graph (built on first use; no more definitions after)."""
        if self._graph is None:
            placed = {c for c in walk(self.body) if isinstance(c, str)}
            unknown = placed - set(self._outputs)
            if unknown:
                raise GraphError(
                    f"The layout of dashboard {self.title!r} places {sorted(unknown)}, which are "
                    f"not outputs (outputs: {sorted(self._outputs) or 'none'})."
                )
            self._graph = Graph(self.inputs, self._calcs, self._outputs, cached_calcs=self._cached)
            missing = [name for name in self._outputs if name not in placed]
            self.body = (*self.body, *missing)
        return self._graph

    def defaults(self) -> dict[str, Any]:
        """Each input's default value in its JSON form (what a fresh browser holds)."""
        return {name: field.to_json(field.value) for name, field in self.inputs.items()}

    def spec(self) -> dict[str, Any]:
        """What the browser runtime needs: inputs, which outputs each input affects, triggers."""
        graph = self.graph
        return {
            "title": self.title,
            "inputs": {name: field.spec() for name, field in self.inputs.items()},
            "affects": {name: sorted(graph.downstream[name]) for name in graph.inputs},
            "outputs": {
                name: {
                    "kind": spec.kind,
                    "refresh_every": spec.refresh_every,
                    "refresh_on": list(spec.refresh_on),
                }
                for name, spec in self.output_specs.items()
            },
        }

    # -- HTML of the layout --

    def render_children(
        self, children: Iterable[Child], values: dict[str, Any], outputs: dict[str, Markup]
    ) -> Markup:
        """The HTML of layout `children` with inputs showing `values` and `outputs` filled in."""
        parts: list[Markup] = []
        for child in children:
            if isinstance(child, Input):
                parts.append(child.render(values[child.name]))
            elif isinstance(child, str):
                spec = self.output_specs[child]
                parts.append(
                    Markup(
                        '<div class="tr-output tr-output-{}" id="tr-out-{}" data-output="{}" '
                        'aria-live="polite">{}</div>'
                    ).format(spec.kind, child, child, outputs.get(child, ""))
                )
            elif isinstance(child, Markup):
                parts.append(child)
            elif isinstance(child, Tabs):
                parts.append(self._render_tabs(child, values, outputs))
            elif isinstance(child, Layout):
                inner = self.render_children(child.children, values, outputs)
                if isinstance(child, Card):
                    inner = Markup('<h2 class="tr-card-title">{}</h2>{}').format(child.title, inner)
                css_class = child.css_class
                if isinstance(child, Column) and child.width != 1:
                    # A class, not a style attribute: the default CSP forbids inline styles.
                    css_class += f" tr-grow-{child.width}"
                parts.append(Markup('<div class="{}">{}</div>').format(css_class, inner))
            else:
                raise TypeError(
                    f"Cannot place {child!r} in a dashboard layout: use an input, an output "
                    "name, Row, Column, Card, Tabs or Markup."
                )
        return Markup("").join(parts)

    def _render_tabs(
        self, tabs: Tabs, values: dict[str, Any], outputs: dict[str, Markup]
    ) -> Markup:
        buttons = Markup("").join(
            Markup('<button type="button" role="tab" aria-selected="{}">{}</button>').format(
                "true" if i == 0 else "false", tab.title
            )
            for i, tab in enumerate(tabs.children)
        )
        panels = Markup("").join(
            Markup('<div class="tr-tab" role="tabpanel"{}>{}</div>').format(
                Markup("") if i == 0 else Markup(" hidden"),
                self.render_children(tab.children, values, outputs),
            )
            for i, tab in enumerate(tabs.children)
        )
        return Markup('<div class="tr-tabs"><div role="tablist">{}</div>{}</div>').format(
            buttons, panels
        )
