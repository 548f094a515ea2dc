"""FastAPI (ASGI), default settings, async endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from bench.apps import EXTRA_ROUTES


def _add_resource(app: FastAPI, i: int) -> None:
    @app.get(f"/api/v1/resource{i}")
    async def resource() -> dict[str, int]:
        return {"resource": i}

    @app.get(f"/api/v1/resource{i}/{{id}}")
    async def resource_item(id: int) -> dict[str, int]:
        return {"resource": i, "id": id}


def create(extra_routes: bool = False) -> Any:
    app = FastAPI()
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            _add_resource(app, i)

    @app.get("/plaintext", response_class=PlainTextResponse)
    async def plaintext() -> str:
        return "Hello, World!"

    @app.get("/json")
    async def json() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/{id}/posts/{slug}")
    async def user_post(id: int, slug: str) -> dict[str, Any]:
        return {"id": id, "slug": slug}

    return app


app = create()
