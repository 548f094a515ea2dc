"""Django ORM and templates in one file: the same two endpoints."""

from __future__ import annotations

import random

import django
from common import ADDED_FORTUNE, FORTUNES_TEMPLATE, WORLD_ROWS, database_url
from django.conf import settings
from sqlalchemy.engine import make_url

url = make_url(database_url())
if url.get_backend_name() == "sqlite":
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": url.database}
else:
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.database,
        "USER": url.username or "",
        "HOST": url.host or "",
        "PORT": str(url.port or ""),
        "CONN_MAX_AGE": None,  # keep connections, as the SQLAlchemy pools do
        "CONN_HEALTH_CHECKS": True,
    }
settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="bench-only-not-secret",
    DATABASES={"default": database},
    INSTALLED_APPS=["django.contrib.contenttypes"],
    MIDDLEWARE=[],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    USE_TZ=True,
)
django.setup()

from django.db import models  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.shortcuts import get_object_or_404  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402


class World(models.Model):
    randomnumber = models.IntegerField()

    class Meta:
        app_label = "bench"
        db_table = "world"


class Fortune(models.Model):
    message = models.CharField(max_length=2048)

    class Meta:
        app_label = "bench"
        db_table = "fortune"


template = engines["django"].from_string(FORTUNES_TEMPLATE)


def single_query(request):  # type: ignore[no-untyped-def]
    row = get_object_or_404(World, id=random.randint(1, WORLD_ROWS))
    return JsonResponse({"id": row.id, "randomNumber": row.randomnumber})


def fortunes(request):  # type: ignore[no-untyped-def]
    rows = list(Fortune.objects.all())
    rows.append(Fortune(id=0, message=ADDED_FORTUNE))
    rows.sort(key=lambda f: f.message)
    return HttpResponse(template.render({"fortunes": rows}))


urlpatterns = [path("db", single_query), path("fortunes", fortunes)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

app = get_wsgi_application()
