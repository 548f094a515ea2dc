"""Server-sent events: `EventSourceResponse` and the `@app.sse(path)` decorator.

A handler yields events (a `ServerSentEvent`, a dict of its fields, a str of data, or any data,
sent as JSON); the response writes them in the `text/event-stream` format, with a comment line as
keep-alive ping whenever the source is quiet for `ping` seconds. Pings also detect clients that
went away: the write fails, the server stops the response, and the generator is closed (its
`finally:` blocks run). A reconnecting browser sends the last id it saw in `Last-Event-ID`;
`@app.sse` passes it to a handler parameter named `last_event_id`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
)
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError
from .requests import Request
from .responses import Response, dump_json

__all__ = ["EventSourceResponse", "ServerSentEvent", "sse_endpoint"]

DEFAULT_PING_SECONDS = 15.0
_SSE_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


@dataclass
class ServerSentEvent:
    """One event. `data` may be text or any JSON-serialisable value."""

    data: Any = ""
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    def encode(self) -> bytes:
        """The event in wire format, ending with the blank line that dispatches it."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _split_lines(self.comment))
        if self.id is not None:
            _check_field("id", self.id)
            if "\0" in self.id:
                raise ValueError("An SSE id cannot contain NUL characters.")
            lines.append(f"id: {self.id}")
        if self.event is not None:
            _check_field("event", self.event)
            lines.append(f"event: {self.event}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        data = self.data
        if data is not None and (data != "" or not lines):
            text = data if isinstance(data, str) else dump_json(data).decode()
            lines.extend(f"data: {line}" for line in _split_lines(text))
        return ("\n".join(lines) + "\n\n").encode()


def _split_lines(text: str) -> list[str]:
    # SECURITY: every CR, LF or CRLF starts a new "data:"/":" line, so a value can never end
    # the field early and inject fields or events of its own.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check_field(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"An SSE {name} cannot contain line breaks: {value!r}.")


_PING = b": ping\n\n"


def _encode(item: Any) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, bytes):
        return item
    if isinstance(item, dict) and item.keys() <= {"data", "event", "id", "retry", "comment"}:
        return ServerSentEvent(**item).encode()
    return ServerSentEvent(data=item).encode()


class EventSourceResponse(Response):
    """A `text/event-stream` response from a sync or async iterable of events.

    `ping` is the keep-alive interval in seconds (None for no pings).
    """

    __slots__ = ()

    def __init__(
        self,
        events: Iterable[Any] | AsyncIterable[Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        ping: float | None = DEFAULT_PING_SECONDS,
    ) -> None:
        super().__init__(b"", status, {**_SSE_HEADERS, **(headers or {})}, "text/event-stream")
        self.stream = _event_stream(events, ping)


async def _event_stream(
    events: Iterable[Any] | AsyncIterable[Any], ping: float | None
) -> AsyncIterator[bytes]:
    source = _as_async(events)
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=ping)
            if not done:
                yield _PING
                continue
            future, pending = pending, None
            try:
                item = future.result()
            except StopAsyncIteration:
                return
            yield _encode(item)
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await source.aclose()


async def _as_async(events: Iterable[Any] | AsyncIterable[Any]) -> AsyncGenerator[Any, None]:
    if isinstance(events, AsyncIterable):
        iterator = aiter(events)
        try:
            async for item in iterator:
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    # A sync generator may block (time.sleep, a queue): each step runs in a worker thread.
    sync_iterator: Iterator[Any] = iter(events)
    done = object()
    loop = asyncio.get_running_loop()
    step: concurrent.futures.Future[Any] | None = None
    executor = _executor()
    try:
        while True:
            step = executor.submit(next, sync_iterator, done)
            item = await asyncio.wrap_future(step)
            if item is done:
                return
            yield item
    finally:
        # The generator is closed only after the step in flight has returned (a generator
        # cannot be closed while it runs in another thread).
        await loop.run_in_executor(executor, _close_after, step, sync_iterator)


def _close_after(step: concurrent.futures.Future[Any] | None, iterator: Iterator[Any]) -> None:
    if step is not None:
        concurrent.futures.wait([step])
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


_shared_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for sync event generators (each open stream with one holds a thread)."""
    global _shared_executor
    if _shared_executor is None:
        _shared_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=64, thread_name_prefix="trellis-sse"
        )
    return _shared_executor


def sse_endpoint(func: Callable[..., Any], ping: float | None) -> Callable[..., Any]:
    """Wrap a generator function as a handler returning an `EventSourceResponse`.

    A parameter named `last_event_id` receives the `Last-Event-ID` header (or None); the others
    are filled like any handler's.
    """
    if not (inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)):
        raise ConfigurationError(
            f"@sse handler {getattr(func, '__qualname__', func)!r} must be a generator function "
            "(sync or async) that yields events."
        )
    signature = inspect.signature(func)
    wants_id = "last_event_id" in signature.parameters
    parameters = [p for name, p in signature.parameters.items() if name != "last_event_id"]
    parameters.append(
        inspect.Parameter("_sse_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    )

    @functools.wraps(func)
    def endpoint(_sse_request: Request, **kwargs: Any) -> EventSourceResponse:
        if wants_id:
            kwargs["last_event_id"] = _sse_request.headers.get("last-event-id")
        return EventSourceResponse(func(**kwargs), ping=ping)

    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    annotations = dict(getattr(func, "__annotations__", {}))
    annotations.pop("last_event_id", None)
    annotations["_sse_request"] = Request
    endpoint.__annotations__ = annotations
    return endpoint
