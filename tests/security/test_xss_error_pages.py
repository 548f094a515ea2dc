"""XSS through error pages: whatever the client sent is escaped on the HTML error page and
never served as HTML in the JSON one."""

from __future__ import annotations

from collections.abc import Callable

import pydantic
import pytest

from trellis import App, HTTPError, Request
from trellis.forms import Form
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]
HTML = {"Accept": "text/html"}
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "javascript:alert(1)//<b>x</b>",
]
DANGEROUS = ("<script", "<img", "<svg", "<b>")


class Strict(Form):
    model_config = pydantic.ConfigDict(extra="forbid")
    name: str


@pytest.fixture
def app() -> App:
    app = App(settings={"DEBUG": True})

    @app.get("/fail")
    def fail(reason: str) -> None:
        raise HTTPError(400, f"Cannot use {reason}")

    @app.get("/crash")
    def crash(reason: str) -> None:
        raise ValueError(f"bad value {reason}")

    @app.post("/strict")
    def strict(form: Strict) -> str:
        return "ok"

    @app.get("/number/{n:int}")
    def number(n: int) -> int:
        return n

    @app.get("/typed")
    def typed(count: int) -> int:
        return count

    return app


def assert_escaped(body: str) -> None:
    for marker in DANGEROUS:
        assert marker not in body.lower()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_404_page_escapes_the_path(client: TestClient, payload: str) -> None:
    response = client.get("/" + payload, headers=HTML)

    assert response.status_code == 404
    assert_escaped(response.text)
    assert "&lt;" in response.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_http_error_detail_is_escaped(client: TestClient, payload: str) -> None:
    response = client.get("/fail", params={"reason": payload}, headers=HTML)

    assert response.status_code == 400
    assert_escaped(response.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_debug_traceback_page_escapes_the_exception(
    client: TestClient, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/crash", params={"reason": payload}, headers=HTML)

    assert response.status_code == 500
    assert "ValueError" in response.text
    assert_escaped(response.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_hostile_field_name_on_the_422_page_is_escaped(client: TestClient, payload: str) -> None:
    response = client.post("/strict", data={"name": "x", payload: "1"}, headers=HTML)

    assert response.status_code == 422
    assert_escaped(response.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_hostile_query_value_on_the_422_page_is_escaped(client: TestClient, payload: str) -> None:
    response = client.get("/typed", params={"count": payload}, headers=HTML)

    assert response.status_code == 422
    assert_escaped(response.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_json_errors_are_not_html_and_not_sniffable(client: TestClient, payload: str) -> None:
    response = client.get("/fail", params={"reason": payload}, headers={"Accept": "*/*"})

    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_error_pages_forbid_inline_scripts_through_csp(client: TestClient) -> None:
    response = client.get("/<script>alert(1)</script>", headers=HTML)

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_the_production_500_page_shows_nothing_of_the_error(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(settings={"SECRET_KEY": "do-not-show-me-0123456789"})

    @app.get("/crash")
    def crash(request: Request) -> None:
        raise ValueError(f"secret {request.app.settings.secret_key}")

    response = make_client(app).get("/crash", headers=HTML)

    assert response.status_code == 500
    assert "do-not-show-me" not in response.text
    assert "ValueError" not in response.text
