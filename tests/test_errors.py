"""Specification of how errors become responses: HTTPError, unexpected exceptions, error handlers.

Programs (JSON `Accept`, `*/*` or no `Accept`) get RFC 9457 problem+json; browsers get an HTML page.
Nothing about the server's internals leaks unless DEBUG is on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from trellis import App, ConfigurationError, HTTPError, Request, ValidationError
from trellis.testing import TestClient

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HTML = {"Accept": BROWSER_ACCEPT}
PROBLEM_JSON = "application/problem+json"
SECRET_MESSAGE = "db password is hunter2"

MakeClient = Callable[..., TestClient]


def _raise_http_error() -> None:
    raise HTTPError(403, "You may not see <b>this</b>.", {"X-Reason": "policy"})


def _raise_unexpected() -> None:
    raise RuntimeError(SECRET_MESSAGE)


@pytest.fixture
def http_error_client(app: App, client: TestClient) -> TestClient:
    """A client for an app whose /forbidden raises HTTPError(403, detail, headers)."""
    app.get("/forbidden")(_raise_http_error)
    return client


@pytest.fixture
def failing_client(app: App, client: TestClient) -> TestClient:
    """A client for an app whose /boom raises an unexpected RuntimeError."""
    app.get("/boom")(_raise_unexpected)
    return client


@pytest.fixture
def debug_client(make_client: MakeClient) -> TestClient:
    """A client for a DEBUG app whose /boom raises an unexpected RuntimeError."""
    app = App(settings={"DEBUG": True})
    app.get("/boom")(_raise_unexpected)
    return make_client(app)


def _assert_no_internals(text: str) -> None:
    assert SECRET_MESSAGE not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    assert ".py" not in text
    assert __file__ not in text


# -- HTTPError -----------------------------------------------------------------------------------


def test_http_error_answers_with_its_status(http_error_client: TestClient) -> None:
    assert http_error_client.get("/forbidden").status_code == 403


def test_http_error_is_problem_json_for_json_clients(http_error_client: TestClient) -> None:
    response = http_error_client.get("/forbidden", headers={"Accept": "application/json"})

    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "You may not see <b>this</b>.",
    }


def test_http_error_is_problem_json_for_any_accept(http_error_client: TestClient) -> None:
    response = http_error_client.get("/forbidden", headers={"Accept": "*/*"})

    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 403


def test_http_error_is_problem_json_without_accept(http_error_client: TestClient) -> None:
    request = http_error_client.build_request("GET", "/forbidden")
    del request.headers["accept"]

    response = http_error_client.send(request)

    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["detail"] == "You may not see <b>this</b>."


def test_http_error_is_html_page_for_browsers(http_error_client: TestClient) -> None:
    response = http_error_client.get("/forbidden", headers=HTML)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>403 Forbidden</h1>" in response.text


def test_http_error_detail_is_html_escaped_in_the_page(app: App, client: TestClient) -> None:
    @app.get("/xss")
    def xss() -> None:
        raise HTTPError(400, "<script>alert(1)</script>")

    response = client.get("/xss", headers=HTML)

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_404_path_is_html_escaped_in_the_page(client: TestClient) -> None:
    response = client.get("/<script>alert(1)</script>", headers=HTML)

    assert response.status_code == 404
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_404_for_json_clients_is_problem_json(client: TestClient) -> None:
    response = client.get("/missing", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Not Found"


def test_http_error_headers_are_kept_in_json(http_error_client: TestClient) -> None:
    response = http_error_client.get("/forbidden")

    assert response.headers["x-reason"] == "policy"


def test_http_error_headers_are_kept_in_html(http_error_client: TestClient) -> None:
    response = http_error_client.get("/forbidden", headers=HTML)

    assert response.headers["x-reason"] == "policy"


def test_http_error_without_detail_uses_the_status_phrase(app: App, client: TestClient) -> None:
    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPError(418)

    body = client.get("/teapot").json()

    assert body["status"] == 418
    assert body["detail"] == body["title"] == "I'm a Teapot"


def test_http_error_with_unknown_status_is_titled_error(app: App, client: TestClient) -> None:
    @app.get("/odd")
    def odd() -> None:
        raise HTTPError(499, "client closed")

    response = client.get("/odd")

    assert response.status_code == 499
    assert response.json()["title"] == "Error"


def test_405_lists_allowed_methods(app: App, client: TestClient) -> None:
    @app.get("/only-get")
    def only_get() -> str:
        return "ok"

    response = client.post("/only-get")

    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


# -- unexpected exceptions -----------------------------------------------------------------------


def test_unhandled_exception_is_500_without_traceback(failing_client: TestClient) -> None:
    response = failing_client.get("/boom", headers={"Accept": "application/json"})

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "traceback" not in response.json()
    _assert_no_internals(response.text)


def test_unhandled_exception_html_page_leaks_nothing(failing_client: TestClient) -> None:
    response = failing_client.get("/boom", headers=HTML)

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "500 Internal Server Error" in response.text
    _assert_no_internals(response.text)


def test_unhandled_exception_is_logged(
    failing_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="trellis")

    failing_client.get("/boom")

    records = [r for r in caplog.records if r.name == "trellis" and r.levelno >= logging.ERROR]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], RuntimeError)
    assert "/boom" in records[0].getMessage()


def test_debug_500_json_has_traceback_list(debug_client: TestClient) -> None:
    body = debug_client.get("/boom", headers={"Accept": "application/json"}).json()

    assert body["status"] == 500
    assert body["detail"] == f"RuntimeError: {SECRET_MESSAGE}"
    assert isinstance(body["traceback"], list)
    assert any("_raise_unexpected" in line for line in body["traceback"])


def test_debug_500_html_shows_escaped_traceback(make_client: MakeClient) -> None:
    app = App(settings={"DEBUG": True})

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("<script>alert(1)</script>")

    response = make_client(app).get("/boom", headers=HTML)

    assert response.status_code == 500
    assert "Traceback (most recent call last)" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "ValueError: &lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_handler_returning_unrenderable_value_is_500(app: App, client: TestClient) -> None:
    @app.get("/weird")
    def weird() -> object:
        return object()

    response = client.get("/weird")

    assert response.status_code == 500
    assert "object" not in response.json()["detail"]


# -- error handlers ------------------------------------------------------------------------------


def test_status_error_handler_replaces_404(app: App, client: TestClient) -> None:
    @app.errorhandler(404)
    def not_found(request: Request, exc: HTTPError) -> tuple[str, int]:
        return f"<p>Nothing at {request.path}</p>", 404

    response = client.get("/missing")

    assert response.status_code == 404
    assert response.text == "<p>Nothing at /missing</p>"


def test_status_error_handler_catches_raised_http_error(app: App, client: TestClient) -> None:
    @app.errorhandler(403)
    def forbidden(request: Request, exc: HTTPError) -> tuple[dict[str, Any], int]:
        return {"custom": exc.detail}, 403

    app.get("/forbidden")(_raise_http_error)

    response = client.get("/forbidden")

    assert response.status_code == 403
    assert response.json() == {"custom": "You may not see <b>this</b>."}


def test_exception_handler_matches_subclasses_through_mro(app: App, client: TestClient) -> None:
    class MissingThing(KeyError):
        pass

    @app.errorhandler(KeyError)
    def missing(request: Request, exc: KeyError) -> tuple[str, int]:
        return f"missing {type(exc).__name__}", 404

    @app.get("/thing")
    def thing() -> None:
        raise MissingThing("x")

    response = client.get("/thing")

    assert response.status_code == 404
    assert response.text == "missing MissingThing"


def test_most_specific_exception_handler_wins(app: App, client: TestClient) -> None:
    @app.errorhandler(LookupError)
    def lookup(request: Request, exc: Exception) -> str:
        return "lookup"

    @app.errorhandler(KeyError)
    def key(request: Request, exc: Exception) -> str:
        return "key"

    @app.get("/key")
    def raise_key() -> None:
        raise KeyError("x")

    assert client.get("/key").text == "key"


def test_500_handler_catches_unexpected_errors(app: App, failing_client: TestClient) -> None:
    @app.errorhandler(500)
    def server_error(request: Request, exc: Exception) -> tuple[str, int]:
        return "<p>Sorry</p>", 500

    response = failing_client.get("/boom")

    assert response.status_code == 500
    assert response.text == "<p>Sorry</p>"


def test_500_handler_still_logs_the_unexpected_exception(
    app: App, failing_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.errorhandler(500)
    def server_error(request: Request, exc: Exception) -> tuple[str, int]:
        return "<p>Sorry</p>", 500

    caplog.set_level(logging.ERROR, logger="trellis")

    failing_client.get("/boom")

    logged = [r.exc_info[1] for r in caplog.records if r.exc_info is not None]
    assert any(isinstance(exc, RuntimeError) for exc in logged)


def test_failing_error_handler_gives_plain_500(
    app: App, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.errorhandler(404)
    def broken(request: Request, exc: HTTPError) -> str:
        raise RuntimeError(SECRET_MESSAGE)

    caplog.set_level(logging.ERROR, logger="trellis")

    response = client.get("/missing")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    _assert_no_internals(response.text)
    assert any(r.exc_info and r.exc_info[1].args == (SECRET_MESSAGE,) for r in caplog.records)


def test_async_error_handler_is_refused_at_registration(app: App) -> None:
    async def handler(request: Request, exc: Exception) -> str:
        return "never"

    with pytest.raises(ConfigurationError, match="async"):
        app.errorhandler(404)(handler)


# -- validation errors ---------------------------------------------------------------------------

FIELD_ERRORS = [
    {"loc": ["body", "age"], "field": "age", "message": "must be >= 0", "type": "value_error"},
    {"loc": ["query", "q"], "field": "<q>", "message": "is <required>", "type": "missing"},
]


@pytest.fixture
def invalid_client(app: App, client: TestClient) -> TestClient:
    """A client for an app whose /invalid raises a ValidationError with two field errors."""

    @app.post("/invalid")
    def invalid() -> None:
        raise ValidationError(FIELD_ERRORS)

    return client


def test_validation_error_is_422_listing_errors(invalid_client: TestClient) -> None:
    response = invalid_client.post("/invalid")

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["errors"] == FIELD_ERRORS
    assert body["detail"] == "Invalid input. age: must be >= 0; <q>: is <required>"


def test_validation_error_page_lists_fields_escaped(invalid_client: TestClient) -> None:
    response = invalid_client.post("/invalid", headers=HTML)

    assert response.status_code == 422
    assert "<li><code>age</code>: must be &gt;= 0</li>" in response.text
    assert "<code>&lt;q&gt;</code>: is &lt;required&gt;" in response.text
    assert "<required>" not in response.text


def test_invalid_query_parameter_is_422_with_field_errors(app: App, client: TestClient) -> None:
    @app.get("/items")
    def items(limit: int) -> dict[str, int]:
        return {"limit": limit}

    response = client.get("/items", params={"limit": "many"})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["limit"]
