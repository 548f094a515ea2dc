"""Django (WSGI): no middleware, no database, ALLOWED_HOSTS set (its host checking is on)."""

from __future__ import annotations

import sys
from typing import Any

import django
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import path

from bench.apps import EXTRA_ROUTES


def plaintext(request: Any) -> HttpResponse:
    return HttpResponse("Hello, World!", content_type="text/plain; charset=utf-8")


def json(request: Any) -> JsonResponse:
    return JsonResponse({"message": "Hello, World!"})


def user_post(request: Any, id: int, slug: str) -> JsonResponse:
    return JsonResponse({"id": id, "slug": slug})


def _urlpatterns(extra_routes: bool) -> list[Any]:
    patterns = []
    if extra_routes:
        for i in range(EXTRA_ROUTES):
            patterns.append(
                path(f"api/v1/resource{i}", lambda r, i=i: JsonResponse({"resource": i}))
            )
            patterns.append(
                path(
                    f"api/v1/resource{i}/<int:id>",
                    lambda r, id, i=i: JsonResponse({"resource": i, "id": id}),
                )
            )
    patterns += [
        path("plaintext", plaintext),
        path("json", json),
        path("users/<int:id>/posts/<str:slug>", user_post),
    ]
    return patterns


class _URLConf:
    def __init__(self, extra_routes: bool) -> None:
        self.urlpatterns = _urlpatterns(extra_routes)


def create(extra_routes: bool = False) -> Any:
    # Django has one settings object per process; each variant gets its own URLconf module.
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="bench-only-not-secret",
            ALLOWED_HOSTS=["localhost", "127.0.0.1", "testserver"],
            ROOT_URLCONF="bench.apps.django_urls_plain",
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DATABASES={},
            USE_TZ=True,
        )
        django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    name = f"bench.apps.django_urls_{'extra' if extra_routes else 'plain'}"
    sys.modules[name] = _URLConf(extra_routes)  # type: ignore[assignment]

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        # Switches only when the other variant ran last (cells run in batches, not per request).
        if name != settings.ROOT_URLCONF:
            settings.ROOT_URLCONF = name
        return handler(environ, start_response)

    return app


app = create()
