"""Server-sent events and WebSockets end to end, against real ASGI servers on 127.0.0.1.

Also: served by gunicorn (WSGI), an app with websocket routes refuses to serve and says why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from .servers import REQUEST_TIMEOUT, RunningServer

pytestmark = pytest.mark.e2e


def ws_url(server: RunningServer, path: str) -> str:
    return server.base_url.replace("http://", "ws://", 1) + path


def read_events(server: RunningServer, count: int, headers: dict[str, str]) -> list[str]:
    """The first `count` events' lines from /events, then hang up."""
    events: list[str] = []
    with httpx.stream(
        "GET", server.url("/events"), headers=headers, timeout=REQUEST_TIMEOUT
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        current: list[str] = []
        for line in response.iter_lines():
            if line:
                current.append(line)
                continue
            if current and not current[0].startswith(":"):
                events.append("\n".join(current))
            current = []
            if len(events) == count:
                break
    return events


def test_sse_streams_ticks_with_ids(live_server: RunningServer) -> None:
    events = read_events(live_server, 2, {"accept": "text/event-stream"})

    assert events == [
        'id: 1\nevent: tick\ndata: {"n":1}',
        'id: 2\nevent: tick\ndata: {"n":2}',
    ]


def test_sse_resumes_after_last_event_id(live_server: RunningServer) -> None:
    events = read_events(live_server, 1, {"last-event-id": "41"})

    assert events == ['id: 42\nevent: tick\ndata: {"n":42}']


def test_sse_client_that_hangs_up_does_not_stop_the_server(live_server: RunningServer) -> None:
    for _ in range(3):
        read_events(live_server, 1, {})

    assert live_server.get("/").status_code == 200


def test_websocket_echoes_json_with_the_typed_room(live_server: RunningServer) -> None:
    with connect(ws_url(live_server, "/ws/12"), open_timeout=REQUEST_TIMEOUT) as socket:
        socket.send(json.dumps({"text": "hi <b>"}))
        reply = json.loads(socket.recv(timeout=REQUEST_TIMEOUT))
        socket.send(json.dumps({"text": "again"}))
        again = json.loads(socket.recv(timeout=REQUEST_TIMEOUT))

    assert reply == {"room": 12, "text": "hi <b>"}
    assert again == {"room": 12, "text": "again"}


def test_websocket_bad_message_closes_with_1003_and_a_reason(live_server: RunningServer) -> None:
    with connect(ws_url(live_server, "/ws/1"), open_timeout=REQUEST_TIMEOUT) as socket:
        socket.send(json.dumps([1, 2]))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=REQUEST_TIMEOUT)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1003
    assert "text" in closed.value.rcvd.reason


def test_websocket_to_an_unknown_path_is_refused_with_404(live_server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_server, "/ws/not-a-number"), open_timeout=REQUEST_TIMEOUT)

    assert refused.value.response.status_code == 404


def test_plain_http_to_the_websocket_path_is_426(live_server: RunningServer) -> None:
    assert live_server.get("/ws/1").status_code == 426


def test_gunicorn_refuses_the_app_and_names_the_fix(
    serve: Callable[[str, str], RunningServer],
) -> None:
    server = serve("gunicorn", "live")

    assert server.get("/").status_code == 500
    deadline = time.monotonic() + 5
    while "cannot serve" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    output = server.output()
    assert "WebSocket routes (/ws/{room:int})" in output
    assert "uvicorn module:app" in output
