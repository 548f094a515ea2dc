"""CORS: only listed origins may read responses or send preflighted requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trellis import App, ConfigurationError
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]
ALLOWED = "https://app.example"
PREFLIGHT = {"Origin": ALLOWED, "Access-Control-Request-Method": "PUT"}


@pytest.fixture
def app() -> App:
    app = App(settings={"CORS_ORIGINS": [ALLOWED], "CORS_MAX_AGE": 300})
    app.get("/data")(lambda: {"ok": True})
    app.put("/data", name="put_data")(lambda: {"put": True})
    return app


def test_a_request_from_an_allowed_origin_gets_the_allow_origin_header(
    client: TestClient,
) -> None:
    response = client.get("/data", headers={"Origin": ALLOWED})

    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers


def test_a_request_from_another_origin_gets_no_cors_headers(client: TestClient) -> None:
    response = client.get("/data", headers={"Origin": "https://evil.example"})

    assert response.status_code == 200  # the browser, not the server, withholds the body
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_from_an_allowed_origin_is_answered_and_cacheable(
    client: TestClient,
) -> None:
    response = client.options(
        "/data", headers={**PREFLIGHT, "Access-Control-Request-Headers": "Content-Type"}
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "PUT" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-max-age"] == "300"


def test_a_preflight_from_another_origin_is_403(client: TestClient) -> None:
    response = client.options("/data", headers={**PREFLIGHT, "Origin": "https://evil.example"})

    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_asking_for_an_unlisted_header_is_403(client: TestClient) -> None:
    response = client.options(
        "/data", headers={**PREFLIGHT, "Access-Control-Request-Headers": "X-Evil"}
    )

    assert response.status_code == 403
    assert "X-Evil" in response.json()["detail"]


def test_credentials_are_allowed_only_when_configured(make_client: MakeClient) -> None:
    app = App(settings={"CORS_ORIGINS": ALLOWED, "CORS_ALLOW_CREDENTIALS": True})
    app.get("/data")(lambda: {"ok": True})

    response = make_client(app).get("/data", headers={"Origin": ALLOWED})

    assert response.headers["access-control-allow-credentials"] == "true"


def test_any_origin_with_credentials_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="CORS_ORIGINS"):
        App(settings={"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": True})


def test_any_origin_gets_a_star(make_client: MakeClient) -> None:
    app = App(settings={"CORS_ORIGINS": "*"})
    app.get("/data")(lambda: {"ok": True})

    response = make_client(app).get("/data", headers={"Origin": "https://anyone.example"})

    assert response.headers["access-control-allow-origin"] == "*"


def test_without_cors_origins_no_cors_headers_are_sent(make_client: MakeClient) -> None:
    app = App(settings={})
    app.get("/data")(lambda: {"ok": True})

    response = make_client(app).get("/data", headers={"Origin": ALLOWED})

    assert "access-control-allow-origin" not in response.headers
