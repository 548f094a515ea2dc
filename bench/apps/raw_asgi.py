"""A raw ASGI callable: the upper limit any ASGI framework can reach."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from bench.apps import EXTRA_ROUTES

_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_JSON = (b"content-type", b"application/json")


def create(extra_routes: bool = False) -> Callable[..., Awaitable[None]]:
    static: dict[str, bytes] = {}
    prefixed: set[str] = set()
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            static[f"/api/v1/resource{i}"] = json.dumps({"resource": i}).encode()
            prefixed.add(f"resource{i}")

    async def respond(send: Any, status: int, header: tuple[bytes, bytes], body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [header, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if scope["method"] in ("GET", "HEAD"):
            if path == "/plaintext":
                return await respond(send, 200, _TEXT, b"Hello, World!")
            if path == "/json":
                body = json.dumps({"message": "Hello, World!"}).encode()
                return await respond(send, 200, _JSON, body)
            parts = path.split("/")
            if len(parts) == 5 and parts[1] == "users" and parts[3] == "posts" and parts[4]:
                if parts[2].isascii() and parts[2].isdigit():
                    body = json.dumps({"id": int(parts[2]), "slug": parts[4]}).encode()
                    return await respond(send, 200, _JSON, body)
            elif path in static:
                return await respond(send, 200, _JSON, static[path])
            elif len(parts) == 5 and parts[3] in prefixed and parts[4].isdigit():
                body = json.dumps({"resource": parts[3], "id": int(parts[4])}).encode()
                return await respond(send, 200, _JSON, body)
        return await respond(send, 404, _TEXT, b"Not Found")

    return app


app = create()
