"""Litestar (ASGI), default settings, async handlers."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, get
from litestar.params import FromPath

from bench.apps import EXTRA_ROUTES


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> str:
    return "Hello, World!"


@get("/json")
async def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/users/{id:int}/posts/{slug:str}")
async def user_post(id: FromPath[int], slug: FromPath[str]) -> dict[str, Any]:
    return {"id": id, "slug": slug}


def _resource(i: int) -> list[Any]:
    @get(f"/api/v1/resource{i}", name=f"resource{i}")
    async def resource() -> dict[str, int]:
        return {"resource": i}

    @get(f"/api/v1/resource{i}/{{id:int}}", name=f"resource{i}_item")
    async def resource_item(id: FromPath[int]) -> dict[str, int]:
        return {"resource": i, "id": id}

    return [resource, resource_item]


def create(extra_routes: bool = False) -> Any:
    handlers: list[Any] = []
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            handlers += _resource(i)
    handlers += [plaintext, json, user_post]
    # logging_config=None: its default turns on INFO logging for the whole process.
    return Litestar(route_handlers=handlers, logging_config=None)


app = create()
