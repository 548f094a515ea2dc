"""Server pushes: the app publishes an event name; browsers showing outputs declared with
`refresh_on=<event>` are told to re-render them.

A push carries only output names, never values: the browser answers with an ordinary update
holding its inputs, so any process can compute it and no process keeps session state.

`LocalBroker` reaches the subscribers of one process. `RedisBroker` relays events through
Redis pub/sub so every process (and machine) hears every publish.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any

logger = logging.getLogger("trellis.dashboard")


class LocalBroker:
    """Fans events out to this process's subscribers (each an asyncio queue on its own loop)."""

    def __init__(self) -> None:
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()
        self._lock = threading.Lock()

    def publish(self, event: str) -> None:
        """Tell every subscriber in this process that `event` happened."""
        self.deliver(event)

    def deliver(self, event: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # the loop closed: that subscriber is gone
                with self._lock:
                    self._subscribers.discard((loop, queue))

    def subscribe(self) -> Subscription:
        """Start listening now (call on the event loop that will iterate the subscription)."""
        return Subscription(self)

    def _add(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]) -> None:
        with self._lock:
            self._subscribers.add(entry)

    def _remove(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]) -> None:
        with self._lock:
            self._subscribers.discard(entry)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        """Stop any background work (nothing for the local broker)."""


class RedisBroker(LocalBroker):
    """Publishes through Redis pub/sub on `channel`; a listener thread delivers what arrives
    (from any process) to this process's subscribers. Needs the `redis` package."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", channel: str = "trellis:dashboard"):
        super().__init__()
        import redis

        self.channel = channel
        self._redis: Any = redis.Redis.from_url(url)
        self._pubsub: Any = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(**{channel: self._on_message})
        # Read Redis's confirmation before going on, so that whatever is published once this
        # constructor returns reaches this process (a publish may otherwise overtake SUBSCRIBE).
        self._pubsub.get_message(timeout=5)
        self._thread: Any = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def _on_message(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        if isinstance(data, bytes):
            self.deliver(data.decode("utf-8", "replace"))

    def publish(self, event: str) -> None:
        self._redis.publish(self.channel, event.encode())

    def close(self) -> None:
        self._thread.stop()
        self._thread.join(timeout=2)  # it must not read from the connection we close next
        self._pubsub.close()
        self._redis.close()


class Subscription:
    """Event names as they are published, from subscription on. Close it when done."""

    def __init__(self, broker: LocalBroker) -> None:
        self._broker = broker
        self._entry = (asyncio.get_running_loop(), asyncio.Queue[str]())
        broker._add(self._entry)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        return await self._entry[1].get()

    def close(self) -> None:
        self._broker._remove(self._entry)


_brokers: weakref.WeakKeyDictionary[Any, LocalBroker] = weakref.WeakKeyDictionary()
_brokers_lock = threading.Lock()


def broker_for(app: Any) -> LocalBroker:
    """The broker of `app` (a LocalBroker unless `use_broker` set another)."""
    with _brokers_lock:
        broker = _brokers.get(app)
        if broker is None:
            broker = _brokers[app] = LocalBroker()
        return broker


def use_broker(app: Any, broker: LocalBroker) -> None:
    """Make `app`'s dashboards publish and listen through `broker` (e.g. a RedisBroker)."""
    with _brokers_lock:
        old = _brokers.get(app)
        _brokers[app] = broker
    if old is not None and old is not broker:
        old.close()


def publish(app: Any, event: str) -> None:
    """Announce `event`: outputs declared with `refresh_on=event` re-render in every browser."""
    if not isinstance(event, str) or not event:
        raise ValueError("an event is a non-empty string")
    broker_for(app).publish(event)
