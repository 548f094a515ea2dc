"""Specification of WebSockets: routes, the WebSocket object, refusals, and the WSGI start-up error.

WebSockets exist only under ASGI, so these tests use `TestClient(app, protocol="asgi")`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest

from trellis import App, ConfigurationError, HTTPError, Request, WebSocket, WebSocketDisconnect
from trellis.testing import TestClient, WebSocketDenied

WAIT = 5.0


@pytest.fixture
def ws_client(app: App) -> Iterator[TestClient]:
    with TestClient(app, protocol="asgi", timeout=WAIT) as client:
        yield client


def test_text_messages_echo_with_a_typed_path_parameter(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws/{room:int}")
    async def chat(ws: WebSocket, room: int) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(f"{room + 1}: {text}")

    with ws_client.websocket_connect("/ws/41") as session:
        session.send_text("hello")
        assert session.receive_text() == "42: hello"
        session.send_text("again")
        assert session.receive_text() == "42: again"


def test_a_path_that_does_not_convert_matches_no_route(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws/{room:int}")
    async def chat(ws: WebSocket, room: int) -> None:
        await ws.accept()

    with pytest.raises(WebSocketDenied) as denied, ws_client.websocket_connect("/ws/lobby"):
        pass
    assert denied.value.response.status_code == 404


def test_bytes_and_json_messages(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        data = await ws.receive_bytes()
        await ws.send_bytes(data[::-1])
        message = await ws.receive_json()
        await ws.send_json({"got": message, "n": len(message["items"])})

    with ws_client.websocket_connect("/ws") as session:
        session.send_bytes(b"\x00\x01\x02")
        assert session.receive_bytes() == b"\x02\x01\x00"
        session.send_json({"items": [1, 2, 3]})
        assert session.receive_json() == {"got": {"items": [1, 2, 3]}, "n": 3}


def test_query_headers_cookies_and_request_parameters_are_available(
    app: App, ws_client: TestClient
) -> None:
    @app.websocket("/ws")
    async def info(ws: WebSocket, request: Request, token: str, limit: int = 5) -> None:
        await ws.accept()
        await ws.send_json(
            {
                "token": token,
                "limit": limit,
                "agent": ws.headers.get("x-agent"),
                "cookie": ws.cookies.get("sid"),
                "same": request is ws.request,
            }
        )

    ws_client.cookies.set("sid", "abc")
    with ws_client.websocket_connect("/ws?token=t1", headers={"x-agent": "tests"}) as session:
        assert session.receive_json() == {
            "token": "t1",
            "limit": 5,
            "agent": "tests",
            "cookie": "abc",
            "same": True,
        }


def test_a_missing_query_parameter_refuses_the_handshake_with_422(
    app: App, ws_client: TestClient
) -> None:
    @app.websocket("/ws")
    async def needs_token(ws: WebSocket, token: str) -> None:
        await ws.accept()

    with pytest.raises(WebSocketDenied) as denied, ws_client.websocket_connect("/ws"):
        pass
    assert denied.value.response.status_code == 422
    assert denied.value.response.json()["errors"][0]["field"] == "token"


def test_the_server_closes_with_a_code_and_reason(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def bye(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("bye")
        await ws.close(4001, "done here")

    with ws_client.websocket_connect("/ws") as session:
        assert session.receive_text() == "bye"
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_text()
    assert (closed.value.code, closed.value.reason) == (4001, "done here")


def test_closing_before_accept_refuses_the_connection(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def refuse(ws: WebSocket) -> None:
        await ws.close(1008)

    with pytest.raises(WebSocketDisconnect) as closed, ws_client.websocket_connect("/ws"):
        pass
    assert closed.value.code == 1008


def test_a_handler_that_returns_closes_normally(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def once(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("only")

    with ws_client.websocket_connect("/ws") as session:
        assert session.receive_text() == "only"
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive()
    assert closed.value.code == 1000


def test_client_disconnect_ends_the_handler_and_runs_its_cleanup(
    app: App, ws_client: TestClient
) -> None:
    seen: dict[str, Any] = {}
    done = threading.Event()

    @app.websocket("/ws")
    async def listen(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect as exc:
            seen["code"] = exc.code
        finally:
            done.set()

    with ws_client.websocket_connect("/ws") as session:
        session.send_text("hi")
        session.close(1001)

    assert done.wait(WAIT)
    assert seen["code"] == 1001


def test_an_uncaught_disconnect_ends_the_handler_quietly(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def listen(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        await ws.receive_text()  # raises WebSocketDisconnect; no error is reported

    with ws_client.websocket_connect("/ws") as session:
        session.send_text("one")


def test_invalid_json_closes_with_1007(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def strict(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_json()

    with ws_client.websocket_connect("/ws") as session:
        session.send_text("{not json")
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive()
    assert closed.value.code == 1007


def test_a_binary_message_where_text_is_expected_closes_with_1003(
    app: App, ws_client: TestClient
) -> None:
    @app.websocket("/ws")
    async def text_only(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()

    with ws_client.websocket_connect("/ws") as session:
        session.send_bytes(b"\xff")
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive()
    assert closed.value.code == 1003


def test_an_error_after_accept_closes_with_1011_and_is_logged(
    app: App, ws_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.websocket("/ws")
    async def broken(ws: WebSocket) -> None:
        await ws.accept()
        raise RuntimeError("boom")

    with (
        ws_client.websocket_connect("/ws") as session,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        session.receive()
    assert closed.value.code == 1011
    assert "Unhandled exception in websocket /ws" in caplog.text


def test_an_http_error_before_accept_is_sent_as_the_handshake_answer(
    app: App, ws_client: TestClient
) -> None:
    @app.websocket("/ws")
    async def private(ws: WebSocket) -> None:
        raise HTTPError(403, "Log in first.")

    with pytest.raises(WebSocketDenied) as denied, ws_client.websocket_connect("/ws"):
        pass
    assert denied.value.response.status_code == 403
    assert denied.value.response.json()["detail"] == "Log in first."


def test_before_request_hooks_and_middleware_can_refuse_a_connection(
    app: App, ws_client: TestClient
) -> None:
    @app.before_request
    def require_key(request: Request) -> Any:
        if request.query.get("key") != "secret":
            raise HTTPError(401, "A key is needed.")
        return None

    @app.websocket("/ws")
    async def ok(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("in")

    with pytest.raises(WebSocketDenied) as denied, ws_client.websocket_connect("/ws"):
        pass
    assert denied.value.response.status_code == 401
    with ws_client.websocket_connect("/ws?key=secret") as session:
        assert session.receive_text() == "in"


def test_subprotocol_negotiation(app: App, ws_client: TestClient) -> None:
    @app.websocket("/ws")
    async def proto(ws: WebSocket) -> None:
        await ws.accept(subprotocol="v2" if "v2" in ws.subprotocols else None)
        await ws.send_text(",".join(ws.subprotocols))

    with ws_client.websocket_connect("/ws", subprotocols=["v1", "v2"]) as session:
        assert session.accepted_subprotocol == "v2"
        assert session.receive_text() == "v1,v2"


def test_sending_before_accept_is_a_clear_error(app: App, ws_client: TestClient) -> None:
    errors: list[str] = []

    @app.websocket("/ws")
    async def early(ws: WebSocket) -> None:
        try:
            await ws.send_text("too soon")
        except RuntimeError as exc:
            errors.append(str(exc))
        await ws.close()

    with pytest.raises(WebSocketDisconnect), ws_client.websocket_connect("/ws"):
        pass
    assert errors == ["Call `await ws.accept()` before sending messages."]


def test_send_json_understands_models(app: App, ws_client: TestClient) -> None:
    class Point(pydantic.BaseModel):
        x: int

    @app.websocket("/ws")
    async def model(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(Point(x=1))

    with ws_client.websocket_connect("/ws") as session:
        assert session.receive_json() == {"x": 1}


# -- registration and HTTP requests to websocket paths ----------------------------------------


def test_websocket_handlers_must_be_async(app: App) -> None:
    with pytest.raises(ConfigurationError, match="must be `async def`"):

        @app.websocket("/ws")
        def sync_handler(ws: WebSocket) -> None:
            pass


def test_a_plain_http_request_to_a_websocket_path_is_426(app: App) -> None:
    @app.websocket("/ws")
    async def chat(ws: WebSocket) -> None:
        await ws.accept()

    with TestClient(app, protocol="asgi") as client:
        response = client.get("/ws")
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"


def test_http_and_websocket_routes_can_share_a_path(app: App, ws_client: TestClient) -> None:
    @app.get("/live")
    def page() -> str:
        return "<p>page</p>"

    @app.websocket("/live")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("socket")

    assert ws_client.get("/live").text == "<p>page</p>"
    with ws_client.websocket_connect("/live") as session:
        assert session.receive_text() == "socket"


def test_serving_websocket_routes_over_wsgi_is_a_start_up_error_naming_the_fix(app: App) -> None:
    @app.websocket("/ws/{room}")
    async def chat(ws: WebSocket, room: str) -> None:
        await ws.accept()

    client = TestClient(app, protocol="wsgi")
    with pytest.raises(ConfigurationError) as error:
        client.get("/")
    message = str(error.value)
    assert "/ws/{room}" in message
    assert "uvicorn" in message
    assert "ASGI" in message


def test_websocket_connect_needs_the_asgi_protocol(app: App) -> None:
    with pytest.raises(RuntimeError, match="protocol='asgi'"):
        TestClient(app, protocol="wsgi").websocket_connect("/ws")


def test_blueprint_websocket_routes_are_included(app: App, ws_client: TestClient) -> None:
    from trellis import Router

    live = Router("/live", name="live")

    @live.websocket("/{room:int}")
    async def room(ws: WebSocket, room: int) -> None:
        await ws.accept()
        await ws.send_text(str(room))

    app.include(live)
    with ws_client.websocket_connect("/live/5") as session:
        assert session.receive_text() == "5"
