"""Images as responses or inline data: PNG/SVG bytes, base64 data URIs, matplotlib figures.

matplotlib is optional (`pip install trellis[plots]`); only the `figure_*` helpers need it, and
they render with the figure's own canvas (no pyplot, no GUI backend, safe in worker threads).
"""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

from .errors import ConfigurationError
from .mediatypes import content_type, media_type_for_format
from .responses import Response

__all__ = [
    "data_uri",
    "figure_data_uri",
    "figure_response",
    "figure_to_bytes",
    "image_response",
]

ImageFormat = Literal["png", "svg", "jpeg", "gif", "webp", "avif", "pdf"]


def image_response(
    data: bytes | str,
    format: ImageFormat = "png",
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A response carrying image bytes (or SVG text) with the right Content-Type.

    SECURITY: an SVG opened directly is a document that can run scripts; serve only SVG you
    made, or user SVG from another origin. `X-Content-Type-Options: nosniff` is always set.
    """
    media_type = content_type(media_type_for_format(format))
    response = Response(data, status, headers, media_type)
    response.raw_headers.append(("x-content-type-options", "nosniff"))
    return response


def data_uri(data: bytes | str, format: ImageFormat | str = "png") -> str:
    """`data:<type>;base64,...` for embedding in HTML (`<img src="{{ uri }}">`).

    `format` is a format name ("png", "svg") or a media type ("image/png").
    """
    media_type = format if "/" in format else media_type_for_format(format)
    raw = data.encode() if isinstance(data, str) else data
    return f"data:{media_type};base64,{base64.b64encode(raw).decode('ascii')}"


def figure_to_bytes(figure: Any, format: Literal["png", "svg"] = "png", **savefig: Any) -> bytes:
    """Render a matplotlib `Figure` to PNG or SVG bytes (`savefig` options pass through)."""
    _require_matplotlib()
    if format not in ("png", "svg"):
        raise ValueError(f"format must be 'png' or 'svg', not {format!r}.")
    buffer = io.BytesIO()
    options: dict[str, Any] = {"bbox_inches": "tight", **savefig}
    if format == "svg":
        # Text as text, not paths, and no timestamp: smaller and reproducible output.
        options.setdefault("metadata", {"Date": None})
    figure.savefig(buffer, format=format, **options)
    return buffer.getvalue()


def figure_response(figure: Any, format: Literal["png", "svg"] = "png", **savefig: Any) -> Response:
    """A PNG or SVG response of a matplotlib figure."""
    return image_response(figure_to_bytes(figure, format, **savefig), format)


def figure_data_uri(figure: Any, format: Literal["png", "svg"] = "png", **savefig: Any) -> str:
    """A matplotlib figure as a data URI to embed in a page."""
    return data_uri(figure_to_bytes(figure, format, **savefig), format)


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "Rendering figures needs matplotlib: `pip install trellis[plots]`."
        ) from None
