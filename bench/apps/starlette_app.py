"""Starlette (ASGI), default settings, async endpoints."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bench.apps import EXTRA_ROUTES


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


async def user_post(request: Request) -> JSONResponse:
    params = request.path_params
    return JSONResponse({"id": params["id"], "slug": params["slug"]})


def _resource(i: int) -> Any:
    async def resource(request: Request) -> JSONResponse:
        return JSONResponse({"resource": i})

    async def resource_item(request: Request) -> JSONResponse:
        return JSONResponse({"resource": i, "id": request.path_params["id"]})

    return resource, resource_item


def create(extra_routes: bool = False) -> Any:
    routes = []
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            resource, resource_item = _resource(i)
            routes.append(Route(f"/api/v1/resource{i}", resource))
            routes.append(Route(f"/api/v1/resource{i}/{{id:int}}", resource_item))
    routes += [
        Route("/plaintext", plaintext),
        Route("/json", json),
        Route("/users/{id:int}/posts/{slug}", user_post),
    ]
    return Starlette(routes=routes)


app = create()
