"""Run a coroutine from synchronous code, starting it at once on this thread (the WSGI path).

PERF: under WSGI an async handler used to cost a full `loop.run_until_complete` per request
(scheduling a task, a turn of the selector, stopping the loop): about three times the cost of the
whole request. Most handlers finish without ever waiting on I/O, so `run_eagerly` makes a real
asyncio Task and runs its first step right away with the thread's loop set as the running loop.
If the coroutine finishes there, that is the result and the loop never runs; if it waits on a
future, the loop is run until the task is done, exactly as before.

The task is an `asyncio.Task` in all but the C type (the pure-Python Task class asyncio ships),
so `asyncio.current_task()`, `asyncio.timeout()`, TaskGroups, cancellation, contextvars and
`asyncio.get_running_loop()` behave as in any task. Only the constructor differs: it does not
schedule the first step, because it is run here.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from collections.abc import Coroutine
from typing import Any

_names = itertools.count(1)

try:
    _PyTask: Any = asyncio.tasks._PyTask  # type: ignore[attr-defined]
    _PyFuture: Any = asyncio.futures._PyFuture  # type: ignore[attr-defined]
    _register_task: Any = asyncio.tasks._register_task
    _set_running_loop: Any = asyncio.events._set_running_loop
    _get_running_loop: Any = asyncio.events._get_running_loop
    _STEP = "_Task__step"
    _available = hasattr(_PyTask, _STEP)
except AttributeError:  # pragma: no cover - another Python's asyncio internals
    _available = False


if _available:

    class _EagerTask(_PyTask):  # type: ignore[misc]
        """An asyncio Task whose first step the caller runs (see the module docstring)."""

        def __init__(self, coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
            # The body of Task.__init__ without `loop.call_soon(self.__step)`.
            _PyFuture.__init__(self, loop=loop)
            self._name = f"trellis-handler-{next(_names)}"
            self._num_cancels_requested = 0
            self._must_cancel = False
            self._fut_waiter = None
            self._coro = coro
            self._context = contextvars.copy_context()
            _register_task(self)


def run_eagerly(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> Any:
    """Run `coro` to completion on `loop` (not running) and return its result or raise."""
    if not _available or _get_running_loop() is not None or loop.is_running():
        return loop.run_until_complete(coro)
    task = _EagerTask(coro, loop)
    _set_running_loop(loop)
    try:
        task._context.run(getattr(task, _STEP))
    finally:
        _set_running_loop(None)
    if not task.done():
        loop.run_until_complete(task)
    return task.result()
