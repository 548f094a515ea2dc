"""Falcon (WSGI), default settings."""

from __future__ import annotations

from typing import Any

import falcon

from bench.apps import EXTRA_ROUTES


class PlainText:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "Hello, World!"


class Json:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"message": "Hello, World!"}


class UserPost:
    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int, slug: str) -> None:
        resp.media = {"id": id, "slug": slug}


class Resource:
    def __init__(self, i: int) -> None:
        self.i = i

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"resource": self.i}


class ResourceItem(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:  # type: ignore[override]
        resp.media = {"resource": self.i, "id": id}


def create(extra_routes: bool = False) -> Any:
    app = falcon.App()
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            app.add_route(f"/api/v1/resource{i}", Resource(i))
            app.add_route(f"/api/v1/resource{i}/{{id:int}}", ResourceItem(i))
    app.add_route("/plaintext", PlainText())
    app.add_route("/json", Json())
    app.add_route("/users/{id:int}/posts/{slug}", UserPost())
    return app


app = create()
