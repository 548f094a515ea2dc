"""CSRF attacks: forged unsafe requests on a cookie-authenticated session are refused with 403."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trellis import App, Request, Router
from trellis.security import csrf_exempt
from trellis.testing import TestClient

from .support import SECRET_KEY, build_login_app

MakeClient = Callable[..., TestClient]


@pytest.fixture
def app(fast_passwords: None) -> App:
    app = build_login_app()

    @app.post("/transfer")
    def transfer(request: Request) -> dict[str, bool]:
        request.session["transferred"] = True
        return {"done": True}

    @app.get("/transferred")
    def transferred(request: Request) -> dict[str, bool]:
        return {"transferred": bool(request.session.get("transferred"))}

    return app


def token_for(client: TestClient) -> str:
    """Start a session (as a page with a form would) and return its CSRF token."""
    token: str = client.get("/token").json()["token"]
    return token


def nothing_transferred(client: TestClient) -> bool:
    return client.get("/transferred").json() == {"transferred": False}


def test_post_with_the_right_token_in_the_form_succeeds(client: TestClient) -> None:
    token = token_for(client)

    response = client.post("/transfer", data={"csrf_token": token})

    assert response.status_code == 200
    assert not nothing_transferred(client)


def test_post_with_the_right_token_in_the_header_succeeds(client: TestClient) -> None:
    token = token_for(client)

    response = client.post("/transfer", json={}, headers={"X-CSRF-Token": token})

    assert response.status_code == 200


def test_post_without_csrf_token_is_403(client: TestClient) -> None:
    token_for(client)

    response = client.post("/transfer", data={"amount": "100"})

    assert response.status_code == 403
    assert "token is missing" in response.json()["detail"]
    assert nothing_transferred(client)


def test_post_with_a_wrong_token_is_403(client: TestClient) -> None:
    token_for(client)

    response = client.post("/transfer", data={"csrf_token": "A" * 64})

    assert response.status_code == 403
    assert "invalid" in response.json()["detail"]
    assert nothing_transferred(client)


@pytest.mark.parametrize("token", ["", "%%%", "x", "====", "\u00e9\u00e9"])
def test_post_with_a_malformed_token_is_403_not_500(client: TestClient, token: str) -> None:
    token_for(client)

    response = client.post("/transfer", data={"csrf_token": token})

    assert response.status_code == 403


def test_a_token_from_another_session_is_403(
    app: App, client: TestClient, make_client: MakeClient
) -> None:
    attacker = make_client(app)
    attackers_token = token_for(attacker)
    token_for(client)

    response = client.post("/transfer", data={"csrf_token": attackers_token})

    assert response.status_code == 403
    assert nothing_transferred(client)


def test_a_cross_origin_post_is_403_even_with_the_right_token(client: TestClient) -> None:
    token = token_for(client)

    response = client.post(
        "/transfer", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert "another origin" in response.json()["detail"]
    assert nothing_transferred(client)


def test_a_same_origin_post_with_origin_header_succeeds(client: TestClient) -> None:
    token = token_for(client)

    response = client.post(
        "/transfer", data={"csrf_token": token}, headers={"Origin": "http://testserver"}
    )

    assert response.status_code == 200


def test_origin_null_is_refused(client: TestClient) -> None:
    token = token_for(client)

    response = client.post("/transfer", data={"csrf_token": token}, headers={"Origin": "null"})

    assert response.status_code == 403


def test_a_cross_site_login_form_post_is_refused_without_any_cookie(client: TestClient) -> None:
    response = client.post(
        "/login",
        data={"email": "alice@example.com", "password": "x"},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403


def test_api_clients_without_the_session_cookie_need_no_token(client: TestClient) -> None:
    response = client.post("/transfer", json={"amount": 1})

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_unsafe_method_needs_the_token(app: App, client: TestClient, method: str) -> None:
    app.route("/thing", methods=[method])(lambda: "changed")
    token_for(client)

    assert client.request(method, "/thing").status_code == 403


def test_trusted_origins_may_post(make_client: MakeClient) -> None:
    app = build_login_app({"CSRF_TRUSTED_ORIGINS": "https://admin.example"})
    app.post("/transfer")(lambda: "ok")
    client = make_client(app)
    token = token_for(client)

    response = client.post(
        "/transfer", data={"csrf_token": token}, headers={"Origin": "https://admin.example"}
    )

    assert response.status_code == 200


@pytest.fixture
def https_client(app: App, make_client: MakeClient) -> TestClient:
    return make_client(app, base_url="https://testserver")


def test_https_post_without_origin_or_referer_is_403(https_client: TestClient) -> None:
    token = token_for(https_client)

    response = https_client.post("/transfer", data={"csrf_token": token})

    assert response.status_code == 403
    assert "Referer" in response.json()["detail"]


def test_https_post_with_a_foreign_referer_is_403(https_client: TestClient) -> None:
    token = token_for(https_client)

    response = https_client.post(
        "/transfer", data={"csrf_token": token}, headers={"Referer": "https://evil.example/x"}
    )

    assert response.status_code == 403


def test_https_post_with_a_same_site_referer_succeeds(https_client: TestClient) -> None:
    token = token_for(https_client)

    response = https_client.post(
        "/transfer", data={"csrf_token": token}, headers={"Referer": "https://testserver/form"}
    )

    assert response.status_code == 200


def test_a_route_can_opt_out_with_csrf_exempt(app: App, client: TestClient) -> None:
    @app.post("/webhook")
    @csrf_exempt
    def webhook() -> str:
        return "received"

    token_for(client)

    assert client.post("/webhook", data={"x": "1"}).status_code == 200


def test_a_route_can_opt_out_with_a_route_option(app: App, client: TestClient) -> None:
    app.post("/api/ping", csrf=False)(lambda: "pong")
    token_for(client)

    assert client.post("/api/ping").status_code == 200


def test_a_blueprint_can_opt_out(app: App, client: TestClient) -> None:
    api = csrf_exempt(Router(prefix="/api"))
    api.post("/one")(lambda: "one")
    app.include(api)
    token_for(client)

    assert client.post("/api/one").status_code == 200
    assert client.post("/transfer").status_code == 403


def test_csrf_can_be_turned_off_by_setting(make_client: MakeClient) -> None:
    app = App(settings={"SECRET_KEY": SECRET_KEY, "CSRF_ENABLED": False})

    @app.post("/set")
    def set_value(request: Request) -> str:
        request.session["x"] = 1
        return "ok"

    client = make_client(app)
    client.post("/set")

    assert client.post("/set").status_code == 200


def test_login_rotates_the_csrf_token(client: TestClient) -> None:
    old = token_for(client)
    client.post(
        "/login",
        data={"email": "alice@example.com", "password": "correct horse battery staple"},
        headers={"X-CSRF-Token": old},
    )

    response = client.post("/transfer", data={"csrf_token": old})

    assert response.status_code == 403


def test_the_token_is_masked_differently_on_each_call(client: TestClient) -> None:
    assert token_for(client) != token_for(client)


def test_tokens_are_compared_with_hmac_compare_digest(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    from trellis.security import csrf

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(csrf.hmac, "compare_digest", recording)
    token = token_for(client)

    client.post("/transfer", data={"csrf_token": token})

    # itsdangerous checks the cookie's signature the same way; one call is the token itself.
    assert any(a == b and len(b) == 43 for a, b in calls)


def test_the_token_from_a_meta_tag_works_for_fetch(app: App, client: TestClient) -> None:
    import re

    @app.get("/page")
    def page(request: Request) -> str:
        templates = request.app.templates
        source = '<meta name="csrf-token" content="{{ csrf_token }}">'
        return templates.from_string(source).render(templates.context(request, {}))

    html = client.get("/page").text
    match = re.search(r'content="([^"]+)"', html)
    assert match is not None

    response = client.post("/transfer", json={}, headers={"X-CSRF-Token": match.group(1)})

    assert response.status_code == 200
