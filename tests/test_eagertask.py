"""Async handlers under WSGI start eagerly (trellis._eagertask) yet behave as in any asyncio task.

HTTP-level tests run under both protocols through the `client` fixture; the ones about the
eager start itself call `run_eagerly` directly.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from trellis import App, HTTPError
from trellis._eagertask import run_eagerly
from trellis.testing import TestClient

request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="unset")


def test_async_handler_that_never_waits_answers(app: App, client: TestClient) -> None:
    @app.get("/now")
    async def now() -> dict[str, Any]:
        task = asyncio.current_task()
        return {"loop": asyncio.get_running_loop() is not None, "task": task is not None}

    assert client.get("/now").json() == {"loop": True, "task": True}


def test_async_handler_that_sleeps_answers(app: App, client: TestClient) -> None:
    @app.get("/sleep")
    async def sleep() -> dict[str, int]:
        await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        return {"slept": 2}

    assert client.get("/sleep").json() == {"slept": 2}


def test_async_handler_runs_tasks_and_task_groups(app: App, client: TestClient) -> None:
    async def double(value: int) -> int:
        await asyncio.sleep(0.001)
        return value * 2

    @app.get("/tasks")
    async def tasks() -> dict[str, Any]:
        gathered = await asyncio.gather(double(1), double(2))
        async with asyncio.TaskGroup() as group:
            third = group.create_task(double(3))
        return {"gathered": gathered, "group": third.result()}

    assert client.get("/tasks").json() == {"gathered": [2, 4], "group": 6}


def test_asyncio_timeout_works_before_the_first_wait(app: App, client: TestClient) -> None:
    @app.get("/timeout")
    async def timeout() -> dict[str, bool]:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(1)
        except TimeoutError:
            return {"timed_out": True}
        return {"timed_out": False}

    assert client.get("/timeout").json() == {"timed_out": True}


def test_async_handler_errors_become_responses(app: App, client: TestClient) -> None:
    @app.get("/http-error")
    async def http_error() -> None:
        raise HTTPError(418, "teapot")

    @app.get("/crash-after-wait")
    async def crash_after_wait() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    assert client.get("/http-error").status_code == 418
    assert client.get("/crash-after-wait").status_code == 500


def test_context_variables_set_in_a_handler_do_not_leak(app: App, client: TestClient) -> None:
    @app.get("/context")
    async def context() -> dict[str, str]:
        before = request_var.get()
        request_var.set("handler")
        await asyncio.sleep(0)
        return {"before": before, "after": request_var.get()}

    assert client.get("/context").json() == {"before": "unset", "after": "handler"}
    assert client.get("/context").json() == {"before": "unset", "after": "handler"}
    assert request_var.get() == "unset"


# -- run_eagerly itself --------------------------------------------------------------------------


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_run_eagerly_returns_without_running_the_loop(loop: asyncio.AbstractEventLoop) -> None:
    ran: list[str] = []
    loop.call_soon(ran.append, "loop ran")

    async def quick() -> str:
        return "done"

    assert run_eagerly(quick(), loop) == "done"
    assert ran == []  # the loop's queue was never run
    assert asyncio.events._get_running_loop() is None


def test_run_eagerly_finishes_a_waiting_coroutine_on_the_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def slow() -> str:
        await asyncio.sleep(0.001)
        return "late"

    assert run_eagerly(slow(), loop) == "late"
    assert not loop.is_running()
    assert asyncio.events._get_running_loop() is None


def test_run_eagerly_raises_what_the_coroutine_raises(loop: asyncio.AbstractEventLoop) -> None:
    async def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        run_eagerly(fails(), loop)
    assert asyncio.events._get_running_loop() is None


def test_run_eagerly_propagates_cancellation(loop: asyncio.AbstractEventLoop) -> None:
    async def cancels_itself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(1)

    with pytest.raises(asyncio.CancelledError):
        run_eagerly(cancels_itself(), loop)


def test_run_eagerly_inside_a_running_loop_refuses_as_before() -> None:
    async def outer() -> None:
        inner_loop = asyncio.new_event_loop()
        try:

            async def inner() -> int:
                return 1

            coro = inner()
            with pytest.raises(RuntimeError):
                run_eagerly(coro, inner_loop)
            coro.close()
        finally:
            inner_loop.close()

    asyncio.run(outer())
