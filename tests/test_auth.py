"""Specification of logins: login_required, current_user, remember-me, user injection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher

from trellis import App, Request
from trellis.auth import LoginManager, UserMixin, current_user, login, login_required, logout
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]


class User(UserMixin):
    def __init__(self, id: int, name: str, active: bool = True) -> None:
        self.id = id
        self.name = name
        self.is_active = active


USERS = {"1": User(1, "alice"), "2": User(2, "bob", active=False)}


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    from trellis.auth import passwords

    monkeypatch.setattr(passwords, "_default_hasher", PasswordHasher(1, 1024, 1))
    app = App(settings={"SECRET_KEY": "auth-tests", "CSRF_ENABLED": False})
    auth = LoginManager(app, login_url="/login", user_type=User)
    auth.user_loader(USERS.get)

    @app.post("/login/{user_id}")
    def do_login(request: Request, user_id: str, remember: bool = False) -> None:
        login(request, USERS[user_id], remember=remember)

    @app.post("/logout")
    def do_logout(request: Request) -> None:
        logout(request)

    @app.get("/private")
    @login_required
    def private(request: Request) -> str:
        return f"hello {current_user(request).name}"

    @app.get("/whoami")
    def whoami(user: User | None) -> dict[str, Any]:
        return {"name": user.name if user else None}

    app.get("/option", login_required=True)(lambda: "by option")
    return app


def test_a_page_needing_login_redirects_browsers_to_the_login_page(client: TestClient) -> None:
    response = client.get("/private?tab=1", headers={"Accept": "text/html"})

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fprivate%3Ftab%3D1"


def test_a_page_needing_login_answers_401_to_api_clients(client: TestClient) -> None:
    response = client.get("/private", headers={"Accept": "application/json"})

    assert response.status_code == 401
    assert "Log in first" in response.json()["detail"]


def test_a_logged_in_user_reaches_the_page(client: TestClient) -> None:
    client.post("/login/1")

    assert client.get("/private").text == "hello alice"


def test_login_required_can_be_a_route_option(client: TestClient) -> None:
    assert client.get("/option", headers={"Accept": "application/json"}).status_code == 401
    client.post("/login/1")
    assert client.get("/option").text == "by option"


def test_the_user_type_is_injected_into_handlers(client: TestClient) -> None:
    assert client.get("/whoami").json() == {"name": None}
    client.post("/login/1")
    assert client.get("/whoami").json() == {"name": "alice"}


def test_an_inactive_user_is_not_logged_in(client: TestClient) -> None:
    client.post("/login/2")

    assert client.get("/whoami").json() == {"name": None}


def test_a_deleted_user_is_no_longer_logged_in(client: TestClient) -> None:
    USERS["3"] = User(3, "carol")
    client.post("/login/3")
    del USERS["3"]

    assert client.get("/whoami").json() == {"name": None}


def test_logout_logs_out(client: TestClient) -> None:
    client.post("/login/1")

    client.post("/logout")

    assert client.get("/whoami").json() == {"name": None}


def test_remember_me_sets_a_lasting_cookie(client: TestClient) -> None:
    response = client.post("/login/1", params={"remember": "true"})

    assert f"Max-Age={30 * 24 * 3600}" in response.headers["set-cookie"]


def test_current_user_without_a_login_manager_is_a_clear_error(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(settings={"SECRET_KEY": "x"})

    @app.get("/")
    @login_required
    def home() -> str:
        return "home"

    assert make_client(app).get("/").status_code == 500
    assert "LoginManager" in caplog.text


def test_anonymous_requests_load_no_session(client: TestClient) -> None:
    response = client.get("/whoami")

    assert "set-cookie" not in response.headers


def test_templates_see_the_current_user(app: App, client: TestClient) -> None:
    @app.get("/badge")
    def badge(request: Request) -> str:
        templates = request.app.templates
        source = "{% if current_user %}{{ current_user.name }}{% else %}anonymous{% endif %}"
        return templates.from_string(source).render(templates.context(request, {}))

    assert client.get("/badge").text == "anonymous"
    client.post("/login/1")
    assert client.get("/badge").text == "alice"
