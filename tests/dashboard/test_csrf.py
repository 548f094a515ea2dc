"""CSRF on the update POST: a browser with a session cookie must send the session's token."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from trellis import App, Request
from trellis.dashboard import DashboardClient
from trellis.testing import TestClient

from .test_http import HEADERS, build_page

SECRET = "dashboard-csrf-test-secret-key-0123456789abcdef"


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def session_app(calls: Counter[str]) -> App:
    app = App(settings={"SECRET_KEY": SECRET})
    app.mount_dashboard("/sales", build_page(calls))

    @app.get("/login")
    def login(request: Request) -> str:
        request.session["user"] = "ada"
        return "signed in"

    return app


@pytest.fixture
def signed_in(session_app: App, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(session_app)
    client.get("/login")
    return client


def page_config(client: TestClient) -> dict[str, str]:
    html = client.get("/sales").text
    start = html.index('id="tr-config">') + len('id="tr-config">')
    config: dict[str, str] = json.loads(html[start : html.index("</script>", start)])
    return config


def test_without_a_session_cookie_no_token_is_needed(
    session_app: App, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(session_app)

    assert "csrf_token" not in page_config(client)
    assert client.post("/sales/update", json={"inputs": {}}, headers=HEADERS).status_code == 200


def test_with_a_session_cookie_an_update_without_the_token_is_403(
    signed_in: TestClient, calls: Counter[str]
) -> None:
    response = signed_in.post("/sales/update", json={"inputs": {}}, headers=HEADERS)

    assert response.status_code == 403
    assert "CSRF token is missing" in response.json()["detail"]
    assert not calls


def test_with_a_session_cookie_a_wrong_token_is_403(
    signed_in: TestClient, calls: Counter[str]
) -> None:
    headers = {**HEADERS, "x-csrf-token": "A" * 64}

    response = signed_in.post("/sales/update", json={"inputs": {}}, headers=headers)

    assert response.status_code == 403 and not calls


def test_the_page_gives_the_runtime_the_token_the_post_needs(signed_in: TestClient) -> None:
    config = page_config(signed_in)
    headers = {**HEADERS, config["csrf_header"]: config["csrf_token"]}

    response = signed_in.post("/sales/update", json={"inputs": {}}, headers=headers)

    assert response.status_code == 200


def test_dashboard_client_sends_the_token_when_it_has_a_session(signed_in: TestClient) -> None:
    session = DashboardClient(signed_in, "/sales")

    session.set(months=3)

    assert "csrf_token" in session.spec
    assert session.outputs["trend"] == '<pre class="tr-text">6,6</pre>'
