"""The benchmarked applications: one module per framework, each answering the same three routes.

Every module defines `create(extra_routes: bool) -> app` plus module-level `app` (no extra
routes), so servers can load `bench.apps.<module>:app`. `extra_routes=True` registers 200 other
routes first: 100 static `/api/v1/resource{i}` and 100 `/api/v1/resource{i}/{id:int}`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

EXTRA_ROUTES = 100  # static routes, and as many with an int parameter

PLAINTEXT = b"Hello, World!"
JSON_BODY = {"message": "Hello, World!"}
PARAMS_PATH = "/users/42/posts/hello-world"
PARAMS_BODY = {"id": 42, "slug": "hello-world"}
BAD_PARAMS_PATH = "/users/abc/posts/hello-world"

# Route key -> path used for timing.
ROUTES = {"plaintext": "/plaintext", "json": "/json", "params": PARAMS_PATH}


@dataclasses.dataclass(frozen=True)
class AppSpec:
    """One benchmarked application: `name` as shown, the protocol it speaks, where it lives."""

    name: str
    protocol: str  # "wsgi" or "asgi"
    module: str  # under bench.apps
    attribute: str = "app"  # the module-level app for servers
    requires: str | None = None  # the distribution that must be installed
    factory_options: tuple[tuple[str, Any], ...] = ()
    is_raw: bool = False

    @property
    def import_path(self) -> str:
        return f"bench.apps.{self.module}"

    @property
    def server_target(self) -> str:
        return f"{self.import_path}:{self.attribute}"

    def available(self) -> bool:
        if self.requires is None:
            return True
        try:
            importlib.import_module(self.requires)
        except ImportError:
            return False
        return True

    def create(self, extra_routes: bool) -> Any:
        module = importlib.import_module(self.import_path)
        return module.create(extra_routes, **dict(self.factory_options))


APPS: list[AppSpec] = [
    AppSpec("raw WSGI", "wsgi", "raw_wsgi", is_raw=True),
    AppSpec("Trellis", "wsgi", "trellis_app"),
    AppSpec("Trellis async", "wsgi", "trellis_app", "app_async", None, (("handlers", "async"),)),
    AppSpec("Falcon", "wsgi", "falcon_app", requires="falcon"),
    AppSpec("Bottle", "wsgi", "bottle_app", requires="bottle"),
    AppSpec("Flask", "wsgi", "flask_app", requires="flask"),
    AppSpec("Django", "wsgi", "django_app", requires="django"),
    AppSpec("raw ASGI", "asgi", "raw_asgi", is_raw=True),
    AppSpec("Trellis", "asgi", "trellis_app"),
    AppSpec("Trellis async", "asgi", "trellis_app", "app_async", None, (("handlers", "async"),)),
    AppSpec("Starlette", "asgi", "starlette_app", requires="starlette"),
    AppSpec("FastAPI", "asgi", "fastapi_app", requires="fastapi"),
    AppSpec("Litestar", "asgi", "litestar_app", requires="litestar"),
]
