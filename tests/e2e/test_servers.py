"""The example apps answer correctly under gunicorn (WSGI), uvicorn (ASGI) and `trellis run`."""

from __future__ import annotations

import pytest

from .servers import RunningServer

pytestmark = pytest.mark.e2e


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def test_hello_page_is_the_hello_world_html(hello_server: RunningServer) -> None:
    response = hello_server.get("/")

    assert response.status_code == 200
    assert media_type(response.headers["content-type"]) == "text/html"
    assert response.text == "<p>Hello, World!</p>"


def test_hello_unknown_path_is_404(hello_server: RunningServer) -> None:
    response = hello_server.get("/no-such-page")

    assert response.status_code == 404


def test_ajax_page_has_the_button_and_the_placeholder(ajax_server: RunningServer) -> None:
    response = ajax_server.get("/")

    assert response.status_code == 200
    assert media_type(response.headers["content-type"]) == "text/html"
    assert 'id="ajaxplaceholder"' in response.text
    assert 'id="ajaxbutton"' in response.text


def test_ajax_request_returns_the_json_message(ajax_server: RunningServer) -> None:
    response = ajax_server.get("/ajax-request", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert media_type(response.headers["content-type"]) == "application/json"
    assert response.json() == {"response": "Hello AJAX!"}


def test_ajax_request_accepting_anything_is_json(ajax_server: RunningServer) -> None:
    response = ajax_server.get("/ajax-request", headers={"Accept": "*/*"})

    assert media_type(response.headers["content-type"]) == "application/json"
    assert response.json() == {"response": "Hello AJAX!"}


def test_ajax_unknown_path_is_404(ajax_server: RunningServer) -> None:
    response = ajax_server.get("/ajax-request/does-not-exist")

    assert response.status_code == 404
