"""In-process calls: an app called directly through WSGI or ASGI, with no server and no sockets.

Each call gets a fresh shallow copy of a prebuilt environ or scope, a trivial start_response or
receive/send, and the body is consumed (iterated and closed under WSGI), as a server would.

Batches are timed in CPU seconds of this process (`time.process_time`), not wall-clock time:
the calls never wait for I/O, and CPU time is far less disturbed by other work on the machine.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.apps import (
    BAD_PARAMS_PATH,
    JSON_BODY,
    PARAMS_BODY,
    PLAINTEXT,
    ROUTES,
)

HOST = "localhost"
CLOCK = time.process_time


def wsgi_environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": HOST,
        "HTTP_USER_AGENT": "bench",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def asgi_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", HOST.encode()), (b"user-agent", b"bench"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


class Reply:
    """What one call produced: status, headers (lower-case names) and the body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.headers.get('content-type')} {self.body[:80]!r}>"


def call_wsgi(app: Any, path: str) -> Reply:
    """One WSGI call, recording what it produced (for checks, not timing)."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"] = int(status.split(" ", 1)[0])
        seen["headers"] = {k.lower(): v for k, v in headers}
        return lambda data: None

    result = app(wsgi_environ(path), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Reply(seen["status"], seen["headers"], body)


def call_asgi(app: Any, path: str, loop: asyncio.AbstractEventLoop) -> Reply:
    """One ASGI call, recording what it produced (for checks, not timing)."""
    seen: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["headers"] = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message["headers"]
            }
        elif message["type"] == "http.response.body":
            seen["body"] += message.get("body", b"")

    loop.run_until_complete(app(asgi_scope(path), receive, send))
    return Reply(seen["status"], seen["headers"], seen["body"])


class CheckFailed(AssertionError):
    """An app answered a benchmark route wrongly; its numbers would mean nothing."""


def check_replies(name: str, call: Callable[[str], Reply]) -> None:
    """Check the three routes (and the non-matching int) answer as the benchmark requires."""

    def fail(path: str, reply: Reply, why: str) -> None:
        raise CheckFailed(f"{name}: GET {path} {why}; got {reply!r}")

    reply = call(ROUTES["plaintext"])
    if reply.status != 200 or reply.body != PLAINTEXT:
        fail("/plaintext", reply, "must be 200 'Hello, World!'")
    if not reply.headers.get("content-type", "").startswith("text/plain"):
        fail("/plaintext", reply, "must be text/plain")
    for key, expected in (("json", JSON_BODY), ("params", PARAMS_BODY)):
        path = ROUTES[key]
        reply = call(path)
        if reply.status != 200:
            fail(path, reply, "must be 200")
        if not reply.headers.get("content-type", "").startswith("application/json"):
            fail(path, reply, "must be application/json")
        try:
            data = json.loads(reply.body)
        except ValueError:
            fail(path, reply, "must be JSON")
        if data != expected or type(data.get("id", 0)) is not int:
            fail(path, reply, f"must be {expected}")
    reply = call(BAD_PARAMS_PATH)
    if 200 <= reply.status < 300:
        fail(BAD_PARAMS_PATH, reply, "must not be 2xx (the id is not an int)")


def check_app(app: Any, protocol: str, name: str, loop: asyncio.AbstractEventLoop) -> None:
    if protocol == "wsgi":
        check_replies(name, lambda path: call_wsgi(app, path))
    else:
        check_replies(name, lambda path: call_asgi(app, path, loop))


# -- timing ---------------------------------------------------------------------------------------


def wsgi_timer(app: Any, path: str) -> Callable[[int], float]:
    """A function running `n` WSGI calls and returning the seconds they took."""
    template = wsgi_environ(path)

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    def run(n: int) -> float:
        copy = template.copy
        started = CLOCK()
        for _ in range(n):
            result = app(copy(), start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return CLOCK() - started

    return run


def asgi_timer(app: Any, path: str, loop: asyncio.AbstractEventLoop) -> Callable[[int], float]:
    """A function running `n` ASGI calls on `loop` and returning the seconds they took."""
    template = asgi_scope(path)
    request_message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request_message

    async def send(message: dict[str, Any]) -> None:
        return None

    async def batch(n: int) -> float:
        copy = template.copy
        started = CLOCK()
        for _ in range(n):
            scope = copy()
            scope["state"] = {}
            await app(scope, receive, send)
        return CLOCK() - started

    def run(n: int) -> float:
        return loop.run_until_complete(batch(n))

    return run


def run_lifespan(app: Any, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Start an ASGI app's lifespan; returns the function that shuts it down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = loop.create_task(app(scope, receive, send))

    async def exchange(kind: str) -> None:
        await inbox.put({"type": f"lifespan.{kind}"})
        getter = asyncio.ensure_future(outbox.get())
        done, _ = await asyncio.wait({getter, task}, timeout=10, return_when="FIRST_COMPLETED")
        if getter in done:
            message = getter.result()
            if not message["type"].endswith(".complete"):
                raise RuntimeError(f"lifespan {kind} failed: {message}")
        else:
            getter.cancel()

    loop.run_until_complete(exchange("startup"))

    def shutdown() -> None:
        if not task.done():
            loop.run_until_complete(exchange("shutdown"))
        if not task.done():
            task.cancel()

    return shutdown
