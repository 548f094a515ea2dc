"""Flask (WSGI), default settings."""

from __future__ import annotations

from typing import Any

import flask

from bench.apps import EXTRA_ROUTES


def create(extra_routes: bool = False) -> Any:
    app = flask.Flask("bench_flask")
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            app.add_url_rule(f"/api/v1/resource{i}", f"resource{i}", lambda i=i: {"resource": i})
            app.add_url_rule(
                f"/api/v1/resource{i}/<int:id>",
                f"resource{i}_item",
                lambda id, i=i: {"resource": i, "id": id},
            )

    @app.get("/plaintext")
    def plaintext() -> Any:
        return flask.Response("Hello, World!", mimetype="text/plain")

    @app.get("/json")
    def json() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/<int:id>/posts/<slug>")
    def user_post(id: int, slug: str) -> dict[str, Any]:
        return {"id": id, "slug": slug}

    return app


app = create()
