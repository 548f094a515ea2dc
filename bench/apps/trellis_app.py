"""Trellis, served as WSGI and as ASGI by the same app object.

The app runs with production settings: host checking is on (ALLOWED_HOSTS names the hosts the
benchmark uses), and the defaults keep security headers, CSRF checking and sessions on, so
every number includes their cost. PRODUCTION_SETTINGS is the one place to change that.

`handlers="sync"` (the default) uses plain `def` handlers declared non-blocking with
`sync_to_thread=False`, so ASGI calls them on the event loop instead of the thread pool;
`handlers="async"` uses `async def` handlers, which WSGI runs on the thread's event loop.
"""

from __future__ import annotations

from typing import Any

from bench.apps import EXTRA_ROUTES
from trellis import App, PlainTextResponse

PRODUCTION_SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["localhost", "127.0.0.1", "testserver"],
}


def create(extra_routes: bool = False, handlers: str = "sync") -> App:
    app = App(settings=dict(PRODUCTION_SETTINGS))
    if extra_routes:
        _add_extra_routes(app)
    if handlers == "sync":
        _add_sync_routes(app)
    elif handlers == "async":
        _add_async_routes(app)
    else:
        raise ValueError(f"handlers must be 'sync' or 'async', not {handlers!r}")
    return app


def _add_sync_routes(app: App) -> None:
    @app.get("/plaintext", sync_to_thread=False)
    def plaintext() -> PlainTextResponse:
        return PlainTextResponse("Hello, World!")

    @app.get("/json", sync_to_thread=False)
    def json() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/{id:int}/posts/{slug}", sync_to_thread=False)
    def user_post(id: int, slug: str) -> dict[str, Any]:
        return {"id": id, "slug": slug}


def _add_async_routes(app: App) -> None:
    @app.get("/plaintext")
    async def plaintext() -> PlainTextResponse:
        return PlainTextResponse("Hello, World!")

    @app.get("/json")
    async def json() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/{id:int}/posts/{slug}")
    async def user_post(id: int, slug: str) -> dict[str, Any]:
        return {"id": id, "slug": slug}


def _add_extra_routes(app: App) -> None:
    for i in range(EXTRA_ROUTES):

        def resource(i: int = i) -> dict[str, int]:
            return {"resource": i}

        def resource_item(id: int, i: int = i) -> dict[str, int]:
            return {"resource": i, "id": id}

        app.add_route(f"/api/v1/resource{i}", resource, name=f"resource{i}", sync_to_thread=False)
        app.add_route(
            f"/api/v1/resource{i}/{{id:int}}",
            resource_item,
            name=f"resource{i}_item",
            sync_to_thread=False,
        )


app = create()
app_async = create(handlers="async")
