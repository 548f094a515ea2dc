"""Specification of server-sent events and streaming back-pressure, under WSGI and ASGI."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from trellis import App, ConfigurationError, EventSourceResponse, ServerSentEvent
from trellis.responses import StreamingResponse
from trellis.testing import TestClient

WAIT = 5.0

# -- the wire format ----------------------------------------------------------------------------


def test_event_with_every_field_is_encoded_in_order() -> None:
    event = ServerSentEvent(data="hi", event="greet", id="7", retry=3000, comment="note")

    assert event.encode() == b": note\nid: 7\nevent: greet\nretry: 3000\ndata: hi\n\n"


def test_data_that_is_not_text_is_sent_as_json() -> None:
    assert ServerSentEvent(data={"a": [1, 2]}).encode() == b'data: {"a":[1,2]}\n\n'


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_breaks_in_data_cannot_inject_fields_or_events(newline: str) -> None:
    data = f"one{newline}{newline}event: evil{newline}data: two"

    encoded = ServerSentEvent(data=data).encode()

    assert encoded == b"data: one\ndata: \ndata: event: evil\ndata: data: two\n\n"


@pytest.mark.parametrize("field", ["id", "event"])
def test_line_breaks_in_id_or_event_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        ServerSentEvent(data="x", **{field: "a\nb"}).encode()  # type: ignore[arg-type]


def test_comment_lines_are_split_too() -> None:
    assert ServerSentEvent(data=None, comment="a\nb").encode() == b": a\n: b\n\n"


# -- over HTTP ----------------------------------------------------------------------------------


def test_sse_route_streams_events_with_the_right_headers(app: App, client: TestClient) -> None:
    @app.sse("/events")
    async def events() -> AsyncIterator[object]:
        yield "plain text"
        yield {"data": {"n": 1}, "event": "tick", "id": "1"}
        yield ServerSentEvent(data="last", id="2")

    with client.stream("GET", "/events") as response:
        body = response.read()

    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-store"
    assert body == (
        b'data: plain text\n\nid: 1\nevent: tick\ndata: {"n":1}\n\nid: 2\ndata: last\n\n'
    )


def test_sync_generators_work_as_event_sources(app: App, client: TestClient) -> None:
    @app.sse("/events")
    def events() -> Iterator[str]:
        yield "a"
        time.sleep(0.01)
        yield "b"

    assert client.get("/events").content == b"data: a\n\ndata: b\n\n"


def test_last_event_id_header_reaches_the_handler(app: App, client: TestClient) -> None:
    @app.sse("/events")
    def events(last_event_id: str | None, start: int = 0) -> Iterator[dict[str, object]]:
        yield {"data": {"resume_after": last_event_id, "start": start}}

    resumed = client.get("/events?start=2", headers={"last-event-id": "41"})
    fresh = client.get("/events")

    assert resumed.content == b'data: {"resume_after":"41","start":2}\n\n'
    assert fresh.content == b'data: {"resume_after":null,"start":0}\n\n'


def test_quiet_streams_send_keep_alive_pings(app: App, client: TestClient) -> None:
    @app.sse("/events", ping=0.05)
    async def events() -> AsyncIterator[str]:
        await asyncio.sleep(0.3)
        yield "late"

    body = client.get("/events").content

    assert body.startswith(b": ping\n\n")
    assert body.endswith(b"data: late\n\n")


def test_event_source_response_can_be_returned_by_any_handler(app: App, client: TestClient) -> None:
    @app.get("/events")
    def events() -> EventSourceResponse:
        return EventSourceResponse(iter(["x"]), headers={"x-stream": "1"}, ping=None)

    response = client.get("/events")
    assert response.content == b"data: x\n\n"
    assert response.headers["x-stream"] == "1"


def test_sse_handler_must_be_a_generator_function(app: App) -> None:
    with pytest.raises(ConfigurationError, match="generator function"):

        @app.sse("/events")
        def not_a_generator() -> list[str]:
            return ["x"]


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_client_disconnect_closes_an_endless_event_source(
    app: App, client: TestClient, kind: str
) -> None:
    closed = threading.Event()

    if kind == "async":

        @app.sse("/events", ping=0.05)
        async def async_events() -> AsyncIterator[int]:
            try:
                n = 0
                while True:
                    n += 1
                    yield n
                    await asyncio.sleep(0.01)
            finally:
                closed.set()

    else:

        @app.sse("/events", ping=0.05)
        def sync_events() -> Iterator[int]:
            try:
                n = 0
                while True:
                    n += 1
                    yield n
                    time.sleep(0.01)
            finally:
                closed.set()

    with client.stream("GET", "/events") as response:
        lines = response.iter_lines()
        assert next(lines) == "data: 1"

    assert closed.wait(WAIT), "the event source was not closed after the client left"


# -- streaming back-pressure --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_slow_reader_holds_back_an_endless_stream(
    app: App, client: TestClient, kind: str
) -> None:
    produced = 0

    async def async_chunks() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"x" * 1024

    def sync_chunks() -> Iterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"x" * 1024

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(async_chunks() if kind == "async" else sync_chunks())

    with client.stream("GET", "/stream") as response:
        chunks = response.iter_raw()
        for _ in range(3):
            next(chunks)
        time.sleep(0.2)  # give an eager producer time to run ahead
        snapshot = produced

    # WSGI pulls chunk by chunk; the ASGI test transport buffers at most 16 chunks.
    assert snapshot <= 3 + 16 + 2
