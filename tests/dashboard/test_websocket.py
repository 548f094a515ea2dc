"""The optional WebSocket transport: the same envelopes as the POST, plus pushes (ASGI only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from trellis import App
from trellis.dashboard import publish
from trellis.testing import TestClient
from trellis.websocket import WebSocketDisconnect

from .test_http import build_page


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def socket_app(calls: Counter[str]) -> App:
    app = App(settings={})
    app.mount_dashboard("/sales", build_page(calls), websocket=True, max_payload=4096)
    return app


@pytest.fixture
def asgi_client(socket_app: App) -> Iterator[TestClient]:
    with TestClient(socket_app, protocol="asgi") as client:
        yield client


def test_an_update_over_the_websocket_gets_the_same_reply_as_the_post(
    asgi_client: TestClient, calls: Counter[str]
) -> None:
    envelope = {"seq": 3, "inputs": {"months": 2}, "changed": ["months"]}
    posted = asgi_client.post(
        "/sales/update", json=envelope, headers={"x-trellis-dashboard": "1"}
    ).json()
    calls.clear()

    with asgi_client.websocket_connect("/sales/ws") as ws:
        ws.send_json(envelope)
        reply = ws.receive_json()

    assert reply == posted
    assert calls == Counter(filtered=1, trend_data=1, trend=1, total=1)


def test_several_updates_on_one_connection_are_answered_in_order(asgi_client: TestClient) -> None:
    with asgi_client.websocket_connect("/sales/ws") as ws:
        for seq, months in enumerate([1, 2, 3], start=1):
            ws.send_json({"seq": seq, "inputs": {"months": months}, "changed": ["months"]})
        replies = [ws.receive_json() for _ in range(3)]

    assert [r["seq"] for r in replies] == [1, 2, 3]
    assert replies[2]["outputs"]["trend"]["html"] == '<pre class="tr-text">6,6</pre>'


def test_an_invalid_update_gets_an_error_message_and_the_socket_stays_open(
    asgi_client: TestClient, calls: Counter[str]
) -> None:
    with asgi_client.websocket_connect("/sales/ws") as ws:
        ws.send_json({"seq": 9, "inputs": {"months": 1e9}})
        refused = ws.receive_json()
        ws.send_text("{not json")
        garbled = ws.receive_json()
        ws.send_text('{"inputs": {"note": "' + "x" * 5000 + '"}}')
        oversized = ws.receive_json()
        ws.send_json({"seq": 10, "inputs": {}, "changed": ["note"]})
        accepted = ws.receive_json()

    assert refused["seq"] == 9 and refused["error"]["status"] == 422
    assert refused["error"]["errors"][0]["loc"] == ["inputs", "months"]
    assert garbled == {"seq": None, "error": {"status": 400, "detail": garbled["error"]["detail"]}}
    assert oversized["error"]["status"] == 413
    assert accepted["seq"] == 10 and list(accepted["outputs"]) == ["echo"]
    assert calls == Counter(echo=1)


def test_a_published_event_is_pushed_over_the_websocket(
    asgi_client: TestClient, socket_app: App
) -> None:
    with asgi_client.websocket_connect("/sales/ws") as ws:
        ws.send_json({"seq": 1, "inputs": {}, "changed": []})
        ws.receive_json()  # the socket is up and subscribed

        publish(socket_app, "orders")

        assert ws.receive_json() == {"refresh": ["pushed"]}


def test_a_cross_origin_websocket_is_refused(asgi_client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        asgi_client.websocket_connect("/sales/ws", headers={"origin": "https://evil.example"}),
    ):
        pass

    assert refused.value.code == 1008


def test_the_page_tells_the_runtime_to_use_the_websocket(asgi_client: TestClient) -> None:
    assert '"websocket":"/sales/ws"' in asgi_client.get("/sales").text


def test_without_the_option_there_is_no_websocket_and_wsgi_works(calls: Counter[str]) -> None:
    app = App(settings={})
    app.mount_dashboard("/sales", build_page(calls))

    with TestClient(app, protocol="wsgi") as client:
        assert client.get("/sales").status_code == 200
        assert '"websocket":null' in client.get("/sales").text
