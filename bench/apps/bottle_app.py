"""Bottle (WSGI), default settings."""

from __future__ import annotations

from typing import Any

import bottle

from bench.apps import EXTRA_ROUTES


def create(extra_routes: bool = False) -> Any:
    app = bottle.Bottle()
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            app.route(f"/api/v1/resource{i}", "GET", lambda i=i: {"resource": i})
            app.route(
                f"/api/v1/resource{i}/<id:int>", "GET", lambda id, i=i: {"resource": i, "id": id}
            )

    @app.get("/plaintext")
    def plaintext() -> str:
        bottle.response.content_type = "text/plain; charset=utf-8"
        return "Hello, World!"

    @app.get("/json")
    def json() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/<id:int>/posts/<slug>")
    def user_post(id: int, slug: str) -> dict[str, Any]:
        return {"id": id, "slug": slug}

    return app


app = create()
