"""Server pushes: a published event tells browsers which outputs to re-render."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator

import pytest

from trellis import App
from trellis.dashboard import Dashboard, LocalBroker, RedisBroker, Slider, publish, use_broker
from trellis.testing import TestClient


def pushed_page() -> Dashboard:
    page = Dashboard("Live", sidebar=[Slider("n", 0, 5)])

    @page.text(refresh_on="orders")
    def latest(n: int) -> int:
        return n

    @page.text(refresh_on=["orders", "stock"])
    def stock(n: int) -> int:
        return n

    @page.text(refresh_every=2)
    def clock() -> str:
        return "tick"

    return page


def read_events(lines: Iterator[str], count: int) -> list[tuple[str, str]]:
    """The next `count` (event, data) pairs from an SSE line stream (comments skipped)."""
    events: list[tuple[str, str]] = []
    name = data = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            events.append((name, data))
            name = data = ""
            if len(events) == count:
                return events
    raise AssertionError(f"the stream ended after {events}")


def test_publishing_an_event_streams_the_outputs_to_refresh(
    app: App, make_client: type[TestClient]
) -> None:
    app.mount_dashboard("/live", pushed_page())
    client = make_client(app)

    with client.stream("GET", "/live/events") as response:
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.iter_lines()
        assert read_events(lines, 1) == [("ready", "{}")]

        publish(app, "unrelated")
        publish(app, "stock")
        publish(app, "orders")

        assert read_events(lines, 2) == [
            ("refresh", '{"outputs":["stock"]}'),
            ("refresh", '{"outputs":["latest","stock"]}'),
        ]


def test_page_config_names_the_events_endpoint_and_timers(
    app: App, make_client: type[TestClient]
) -> None:
    app.mount_dashboard("/live", pushed_page())

    spec = make_client(app).get("/live/spec").json()

    assert spec["outputs"]["latest"]["refresh_on"] == ["orders"]
    assert spec["outputs"]["clock"]["refresh_every"] == 2


def test_refresh_every_below_half_a_second_is_refused() -> None:
    page = Dashboard("Live")

    with pytest.raises(ValueError, match=r"at least 0\.5 seconds"):

        @page.text(refresh_every=0.01)
        def fast() -> int:
            return 1


def test_an_event_must_be_a_non_empty_string(app: App) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        publish(app, "")


def test_a_closed_stream_unsubscribes() -> None:
    import asyncio

    broker = LocalBroker()

    async def listen_once() -> str:
        subscription = broker.subscribe()
        broker.publish("hello")
        try:
            return await anext(subscription)
        finally:
            subscription.close()

    assert asyncio.run(listen_once()) == "hello"
    assert broker.subscriber_count == 0


def redis_url() -> str:
    url = "redis://127.0.0.1:6379/0"  # .ci/run starts it
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Redis is not answering at {url} (CI=true: it must run)")
        pytest.skip(f"Redis is not answering at {url}")
    return url


def test_redis_broker_relays_events_between_processes_brokers() -> None:
    import asyncio

    url = redis_url()
    channel = f"trellis-test:{secrets.token_hex(8)}"
    listener = RedisBroker(url, channel)
    speaker = RedisBroker(url, channel)
    received: list[str] = []

    async def listen() -> None:
        subscription = listener.subscribe()
        ready.set()
        try:
            received.append(await anext(subscription))
        finally:
            subscription.close()

    ready = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(listen()))
    thread.start()
    try:
        assert ready.wait(5)
        speaker.publish("orders")
        thread.join(5)
        assert received == ["orders"]
    finally:
        listener.close()
        speaker.close()


def test_use_broker_routes_publish_through_the_given_broker(app: App) -> None:
    class Recording(LocalBroker):
        def __init__(self) -> None:
            super().__init__()
            self.published: list[str] = []

        def publish(self, event: str) -> None:
            self.published.append(event)

    broker = Recording()
    use_broker(app, broker)

    publish(app, "orders")

    assert broker.published == ["orders"]
