"""Trellis: one Python web framework for sites, APIs and dashboards.

The app object is both a WSGI and an ASGI application::

    from trellis import App

    app = App()

    @app.get("/")
    def hello():
        return "<p>Hello, World!</p>"
"""

from .app import App
from .datastructures import FormData, Headers, MultiDict, MutableHeaders, UploadFile
from .errors import ConfigurationError, HTTPError, RouteConflictError, ValidationError
from .requests import Request
from .responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from .routing import Converter, Router
from .settings import Settings
from .staticfiles import FileResponse, StaticFiles

__version__ = "0.1.0"

__all__ = [
    "App",
    "ConfigurationError",
    "Converter",
    "FileResponse",
    "FormData",
    "HTMLResponse",
    "HTTPError",
    "Headers",
    "JSONResponse",
    "MultiDict",
    "MutableHeaders",
    "PlainTextResponse",
    "RedirectResponse",
    "Request",
    "Response",
    "RouteConflictError",
    "Router",
    "Settings",
    "StaticFiles",
    "StreamingResponse",
    "UploadFile",
    "ValidationError",
    "__version__",
]
