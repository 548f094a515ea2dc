"""The one App object is recognised as what each kind of server expects."""

from __future__ import annotations

import asyncio

from trellis import App


def test_app_call_is_seen_as_asgi3_by_servers_that_check() -> None:
    # uvicorn's interface="auto" treats an app as ASGI 3 only if __call__ is a coroutine function.
    assert asyncio.iscoroutinefunction(App().__call__)


def test_app_called_with_wsgi_arguments_returns_an_iterable_body() -> None:
    app = App(settings={})

    @app.get("/")
    def hello() -> str:
        return "hi"

    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
    }
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert b"".join(body) == b"hi"
    assert statuses == ["200 OK"]
