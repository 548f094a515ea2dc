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
from .images import data_uri, figure_data_uri, figure_response, image_response
from .negotiation import Renderer
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
from .sse import EventSourceResponse, ServerSentEvent
from .staticfiles import FileResponse, StaticFiles
from .templates import Template, render
from .websocket import WebSocket, WebSocketDisconnect

__version__ = "0.1.0"

__all__ = [
    "App",
    "ConfigurationError",
    "Converter",
    "EventSourceResponse",
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
    "Renderer",
    "Request",
    "Response",
    "RouteConflictError",
    "Router",
    "ServerSentEvent",
    "Settings",
    "StaticFiles",
    "StreamingResponse",
    "Template",
    "UploadFile",
    "ValidationError",
    "WebSocket",
    "WebSocketDisconnect",
    "__version__",
    "data_uri",
    "figure_data_uri",
    "figure_response",
    "image_response",
    "render",
]
