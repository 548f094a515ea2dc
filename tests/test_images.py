"""Specification of trellis.images: image responses, data URIs and matplotlib figures."""

from __future__ import annotations

import base64
import os

import pytest

from trellis import App, data_uri, figure_data_uri, figure_response, image_response
from trellis.testing import TestClient

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def test_png_bytes_are_served_as_png_with_nosniff(app: App, client: TestClient) -> None:
    @app.get("/dot.png")
    def dot() -> object:
        return image_response(PNG_MAGIC + b"rest", "png")

    response = client.get("/dot.png")
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == PNG_MAGIC + b"rest"


def test_svg_text_is_served_as_svg_with_a_charset(app: App, client: TestClient) -> None:
    @app.get("/dot.svg")
    def dot() -> object:
        return image_response(SVG, "svg")

    response = client.get("/dot.svg")
    assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert response.text == SVG


def test_data_uri_embeds_bytes_as_base64() -> None:
    uri = data_uri(b"\x00\xff", "png")

    assert uri == "data:image/png;base64,AP8="


def test_data_uri_takes_text_and_a_media_type() -> None:
    uri = data_uri(SVG, "image/svg+xml")

    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).decode() == SVG


def test_unknown_image_format_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        image_response(b"x", "bmpx")  # type: ignore[arg-type]


# -- matplotlib (an optional extra; installed by `.[dev]` and therefore in CI) -------------------

if os.environ.get("CI"):
    import matplotlib  # noqa: F401  - under CI a missing matplotlib must fail, not skip
matplotlib_figure = pytest.importorskip(
    "matplotlib.figure", reason="matplotlib is not installed: pip install trellis[plots]"
)


def make_figure() -> object:
    figure = matplotlib_figure.Figure(figsize=(2, 1))
    axes = figure.subplots()
    axes.plot([0, 1, 2], [2, 0, 1])
    axes.set_title("<b>&</b>")
    return figure


def test_figure_response_as_png(app: App, client: TestClient) -> None:
    @app.get("/plot.png")
    def plot() -> object:
        return figure_response(make_figure())

    response = client.get("/plot.png")
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)


def test_figure_response_as_svg_escapes_text(app: App, client: TestClient) -> None:
    @app.get("/plot.svg")
    def plot() -> object:
        return figure_response(make_figure(), "svg")

    response = client.get("/plot.svg")
    assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert response.text.lstrip().startswith("<?xml")
    assert "<b>&</b>" not in response.text


def test_figure_data_uri_is_an_embeddable_png() -> None:
    uri = figure_data_uri(make_figure())

    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG_MAGIC)


def test_figure_format_other_than_png_or_svg_is_refused() -> None:
    with pytest.raises(ValueError, match="'png' or 'svg'"):
        figure_response(make_figure(), "gif")  # type: ignore[arg-type]
