"""A raw WSGI callable: the upper limit any WSGI framework can reach."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from bench.apps import EXTRA_ROUTES

_TEXT = [("content-type", "text/plain; charset=utf-8")]
_JSON = "application/json"


def create(extra_routes: bool = False) -> Callable[..., Iterable[bytes]]:
    static: dict[str, bytes] = {}
    prefixed: set[str] = set()
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            static[f"/api/v1/resource{i}"] = json.dumps({"resource": i}).encode()
            prefixed.add(f"resource{i}")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            if path == "/plaintext":
                body = b"Hello, World!"
                start_response("200 OK", [*_TEXT, ("content-length", str(len(body)))])
                return [body]
            if path == "/json":
                body = json.dumps({"message": "Hello, World!"}).encode()
                start_response(
                    "200 OK", [("content-type", _JSON), ("content-length", str(len(body)))]
                )
                return [body]
            parts = path.split("/")
            if len(parts) == 5 and parts[1] == "users" and parts[3] == "posts" and parts[4]:
                if parts[2].isascii() and parts[2].isdigit():
                    body = json.dumps({"id": int(parts[2]), "slug": parts[4]}).encode()
                    start_response(
                        "200 OK", [("content-type", _JSON), ("content-length", str(len(body)))]
                    )
                    return [body]
            elif path in static:
                body = static[path]
                start_response(
                    "200 OK", [("content-type", _JSON), ("content-length", str(len(body)))]
                )
                return [body]
            elif len(parts) == 5 and parts[3] in prefixed and parts[4].isdigit():
                body = json.dumps({"resource": parts[3], "id": int(parts[4])}).encode()
                start_response(
                    "200 OK", [("content-type", _JSON), ("content-length", str(len(body)))]
                )
                return [body]
        start_response("404 Not Found", [*_TEXT, ("content-length", "9")])
        return [b"Not Found"]

    return app


app = create()
