"""Output rendering: every kind escapes what it shows; tables, plots and value boxes."""

from __future__ import annotations

import orjson
import pytest
from markupsafe import Markup

from trellis.dashboard.markdown import render_markdown
from trellis.dashboard.outputs import (
    html_renderer,
    plot_renderer,
    render_text,
    table_renderer,
    value_box_renderer,
)

XSS = "<script>alert(1)</script>"


def test_text_is_escaped() -> None:
    rendered = render_text(XSS)

    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert rendered.data == XSS


def test_html_output_escapes_plain_strings() -> None:
    assert html_renderer(None)(XSS).html == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_html_output_trusts_markup_the_app_built() -> None:
    assert html_renderer(None)(Markup("<b>bold</b>")).html == "<b>bold</b>"


def test_html_template_autoescapes_its_values() -> None:
    render = html_renderer("<p class='name'>{{ name }}</p>")

    assert render({"name": XSS}).html == "<p class='name'>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_html_template_needs_a_dict() -> None:
    with pytest.raises(TypeError, match="must return a dict"):
        html_renderer("{{ x }}")(3)


def test_markdown_renders_the_supported_subset() -> None:
    html = render_markdown(
        "# Title\n\nSome **bold** and *soft* `code`.\n\n- one\n- two\n\n1. first"
    )

    assert "<h1>Title</h1>" in html
    assert "<p>Some <strong>bold</strong> and <em>soft</em> <code>code</code>.</p>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html and "<ol><li>first</li></ol>" in html


def test_markdown_escapes_raw_html() -> None:
    html = render_markdown(f"hello {XSS}")

    assert "<script>" not in html and "&lt;script&gt;" in html


def test_markdown_drops_javascript_links() -> None:
    html = render_markdown("[click](javascript:alert(1)) and [ok](https://example.org/)")

    assert 'href="javascript' not in html
    assert '<a href="https://example.org/">ok</a>' in html


def test_table_from_a_list_of_dicts_escapes_cells_and_headers() -> None:
    rendered = table_renderer(10, True, 100)([{"name": XSS, "<th>": 1.5}, {"name": "b"}])

    assert "<script>" not in rendered.html and "&lt;th&gt;" in rendered.html
    assert rendered.data == {"columns": ["name", "<th>"], "rows": [[XSS, 1.5], ["b", None]],
                             "total": 2}  # fmt: skip
    assert 'data-page-size="10" data-sortable="true"' in rendered.html


def test_table_from_a_dict_of_columns() -> None:
    rendered = table_renderer(10, False, 100)({"a": [1, 2], "b": ["x", "y"]})

    assert rendered.data["rows"] == [[1, "x"], [2, "y"]]


def test_table_from_a_pandas_dataframe() -> None:
    import pandas

    frame = pandas.DataFrame({"region": ["North", "South"], "revenue": [1.5, float("nan")]})

    rendered = table_renderer(10, True, 100)(frame)

    assert rendered.data == {"columns": ["region", "revenue"],
                             "rows": [["North", 1.5], ["South", None]], "total": 2}  # fmt: skip


def test_table_is_cut_at_max_rows_and_says_so() -> None:
    rendered = table_renderer(10, True, 3)([{"i": i} for i in range(10)])

    assert len(rendered.data["rows"]) == 3 and rendered.data["total"] == 10
    assert "Showing the first 3 of 10 rows." in rendered.html


def test_table_refuses_other_values() -> None:
    with pytest.raises(TypeError, match="list of dicts"):
        table_renderer(10, True, 10)("not a table")


def test_matplotlib_figure_renders_as_an_svg_image_with_an_escaped_alt_text() -> None:
    import base64

    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().set_title(XSS)

    rendered = plot_renderer("svg")(figure)

    assert rendered.html.startswith('<img class="tr-plot" alt="&lt;script&gt;alert(1)')
    assert "<script>" not in rendered.html
    uri = rendered.html.split('src="', 1)[1].split('"', 1)[0]
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg == rendered.data and "<svg" in svg


def test_matplotlib_figure_renders_as_png_data_uri() -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1, 1))
    figure.subplots().plot([1, 2])

    rendered = plot_renderer("png")(figure)

    assert rendered.data.startswith("data:image/png;base64,iVBOR")
    assert rendered.html.startswith('<img class="tr-plot"')


def test_vega_lite_spec_is_embedded_as_json_that_cannot_close_the_script() -> None:
    spec = {"mark": "bar", "title": "</script><script>alert(1)</script>"}

    rendered = plot_renderer("svg")(spec)

    assert 'data-chart="vega-lite"' in rendered.html
    assert "</script><script>" not in rendered.html
    start = rendered.html.index('class="tr-chart-spec">') + len('class="tr-chart-spec">')
    embedded = rendered.html[start : rendered.html.index("</script>", start)]
    assert orjson.loads(str(embedded)) == spec


def test_plot_refuses_other_values() -> None:
    with pytest.raises(TypeError, match="matplotlib Figure"):
        plot_renderer("svg")(42)


def test_plot_format_must_be_svg_or_png() -> None:
    with pytest.raises(ValueError, match="'svg' or 'png'"):
        plot_renderer("gif")


def test_value_box_formats_and_escapes() -> None:
    rendered = value_box_renderer("<Total>", ",.0f")(1234567.8)

    assert "1,234,568" in rendered.html and "&lt;Total&gt;" in rendered.html
    assert rendered.data == 1234567.8


def test_table_formats_numbers_and_keeps_raw_values_for_sorting() -> None:
    rendered = table_renderer(10, True, 100, ",.2f")([{"revenue": 12345.5, "ok": True}])

    assert '<td class="tr-num" data-value="12345.5">12,345.50</td>' in rendered.html
    assert "<td>True</td>" in rendered.html


def test_svg_output_is_the_same_in_every_process() -> None:
    from matplotlib.figure import Figure

    def draw() -> str:
        figure = Figure()
        figure.subplots().plot([1, 3, 2])
        return str(plot_renderer("svg")(figure).html)

    assert draw() == draw()


def test_plotly_figure_is_embedded_as_figure_json() -> None:
    import plotly.graph_objects as go

    figure = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": {"text": XSS}})

    rendered = plot_renderer("svg")(figure)

    assert 'data-chart="plotly"' in rendered.html and "<script>alert" not in rendered.html
    assert rendered.data["data"][0]["type"] == "bar"
    assert rendered.data["layout"]["title"]["text"] == XSS
