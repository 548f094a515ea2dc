"""The reactive core: a declared dependency graph and a pure `evaluate`.

Nodes are inputs (values the browser holds), calcs (shared intermediate values) and outputs (what
the page shows). A calc or output names what it reads by its parameter names, like pytest fixtures:
`def filtered(region, months)` reads the input `region` and the input or calc `months`. The graph
is built once, when the page is mounted, and refuses unknown names and cycles then, so every
process holds the same graph and any of them can answer any update.

`evaluate(graph, inputs, changed)` recomputes only the outputs downstream of the changed inputs,
and only the calcs those outputs need, each at most once. It keeps no state between calls.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import logging
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import orjson

from ..errors import ConfigurationError

logger = logging.getLogger("trellis.dashboard")


class GraphError(ConfigurationError):
    """The graph cannot work: an unknown name, a cycle, a duplicate or a bad function."""


class DashboardError(Exception):
    """Raise from a calc or output to show `message` on the affected outputs (always shown)."""


@dataclasses.dataclass(frozen=True)
class Node:
    """A calc or output: its function and the names it reads, in parameter order."""

    name: str
    func: Callable[..., Any]
    reads: tuple[str, ...]


def parameter_names(func: Callable[..., Any], kind: str) -> tuple[str, ...]:
    """The names `func` reads; refuses `*args`, `**kwargs`, positional-only and async functions."""
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        raise GraphError(
            f"{kind} {func.__qualname__!r} is async; dashboard functions are plain `def` "
            "functions (they run in a worker thread under ASGI)."
        )
    names = []
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise GraphError(
                f"{kind} {func.__qualname__!r} has parameter {param.name!r} of kind "
                f"{param.kind.description}; each parameter must name one input or calc."
            )
        names.append(param.name)
    return tuple(names)


class Graph:
    """The checked, frozen dependency graph of one dashboard.

    Built from input names, calcs and outputs; everything evaluation needs is computed here once:
    for each input, the outputs downstream of it.
    """

    def __init__(
        self,
        inputs: Iterable[str],
        calcs: Mapping[str, Callable[..., Any]],
        outputs: Mapping[str, Callable[..., Any]],
        cached_calcs: Collection[str] = (),
        cache_size: int = 256,
    ) -> None:
        self.inputs: tuple[str, ...] = tuple(inputs)
        seen: dict[str, str] = {}
        for kind, names in (("input", self.inputs), ("calc", calcs), ("output", outputs)):
            for name in names:
                if name in seen:
                    raise GraphError(
                        f"The name {name!r} is used by both an {seen[name]} and a {kind}; "
                        "every input, calc and output needs its own name."
                    )
                seen[name] = kind
        self.calcs = {name: Node(name, f, parameter_names(f, "calc")) for name, f in calcs.items()}
        self.outputs = {
            name: Node(name, f, parameter_names(f, "output")) for name, f in outputs.items()
        }
        readable = set(self.inputs) | set(self.calcs)
        for node in (*self.calcs.values(), *self.outputs.values()):
            kind = "calc" if node.name in self.calcs else "output"
            for read in node.reads:
                if read not in readable:
                    hint = (
                        " Outputs cannot be read by other functions; move shared work to a calc."
                        if read in self.outputs
                        else ""
                    )
                    close = difflib.get_close_matches(read, readable, n=1)
                    if close and not hint:
                        hint = f" Did you mean {close[0]!r}?"
                    known = ", ".join(sorted(readable)) or "none"
                    raise GraphError(
                        f"{kind} {node.name!r} reads {read!r}, which is not an input or calc of "
                        f"this dashboard (known names: {known}).{hint}"
                    )
        self._check_cycles()
        # For each input, the calcs and outputs that read it, directly or through calcs.
        self.input_closure: dict[str, frozenset[str]] = {}
        self.downstream: dict[str, frozenset[str]] = {}
        for name in self.inputs:
            self.downstream[name] = frozenset(
                out for out, node in self.outputs.items() if name in self.inputs_of(node)
            )
        self.cached_calcs = frozenset(cached_calcs)
        self._cache = MemoCache(cache_size)

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise GraphError(
                    "The calcs depend on each other in a cycle: "
                    + " -> ".join(cycle)
                    + ". Break it by moving the shared part into its own calc."
                )
            state[name] = 1
            for read in self.calcs[name].reads:
                if read in self.calcs:
                    visit(read, [*path, name])
            state[name] = 2

        for name in self.calcs:
            visit(name, [])

    def inputs_of(self, node: Node) -> frozenset[str]:
        """The inputs `node` depends on, directly or through calcs."""
        cached = self.input_closure.get(node.name)
        if cached is not None:
            return cached
        found: set[str] = set()
        for read in node.reads:
            if read in self.calcs:
                found |= self.inputs_of(self.calcs[read])
            else:
                found.add(read)
        result = self.input_closure[node.name] = frozenset(found)
        return result

    def cache_key(self, node: Node, inputs: Mapping[str, Any]) -> bytes:
        """The memo key of `node`: its name and the values of the inputs it depends on."""
        names = sorted(self.inputs_of(node))
        return node.name.encode() + b"\0" + orjson.dumps([inputs[n] for n in names], default=repr)

    def memo_get(self, key: bytes) -> tuple[bool, Any]:
        return self._cache.get(key)

    def memo_put(self, key: bytes, value: Any) -> None:
        self._cache.put(key, value)

    def affected_outputs(self, changed: Iterable[str] | None) -> list[str]:
        """The outputs to recompute when `changed` inputs changed (None: all), in page order."""
        if changed is None:
            return list(self.outputs)
        wanted: set[str] = set()
        for name in changed:
            wanted |= self.downstream[name]
        return [name for name in self.outputs if name in wanted]


@dataclasses.dataclass
class OutputFailure:
    """Why an output could not be computed: a message for everyone, details only in debug."""

    message: str
    traceback: str | None = None


@dataclasses.dataclass
class Evaluation:
    """What one `evaluate` produced: each recomputed output's value or failure; the calcs run."""

    values: dict[str, Any]
    failures: dict[str, OutputFailure]
    ran: list[str]


class _CalcFailed(Exception):
    def __init__(self, calc: str, failure: OutputFailure) -> None:
        self.calc = calc
        self.failure = failure


def evaluate(
    graph: Graph,
    inputs: Mapping[str, Any],
    changed: Iterable[str] | None = None,
    *,
    outputs: Iterable[str] = (),
    debug: bool = False,
) -> Evaluation:
    """Compute the outputs downstream of `changed` (None: every output) plus `outputs`.

    `inputs` holds every input's validated value. Each calc runs at most once; a calc that fails
    fails only the outputs that read it. Nothing is kept between calls except the optional memo
    cache of calcs declared with `cache=True`.
    """
    targets = graph.affected_outputs(changed)
    extra = set(outputs) - set(targets)
    if extra:
        targets += [name for name in graph.outputs if name in extra]
    done: dict[str, Any] = {}
    failed: dict[str, _CalcFailed] = {}
    ran: list[str] = []

    def value_of(name: str) -> Any:
        if name not in graph.calcs:
            return inputs[name]
        if name in done:
            return done[name]
        if name in failed:
            raise failed[name]
        node = graph.calcs[name]
        try:
            args = {read: value_of(read) for read in node.reads}
        except _CalcFailed as upstream:
            failed[name] = upstream
            raise
        key = None
        if name in graph.cached_calcs:
            key = graph.cache_key(node, inputs)
            hit, value = graph.memo_get(key)
            if hit:
                done[name] = value
                return value
        ran.append(name)
        try:
            value = node.func(**args)
        except Exception as exc:
            failure = _CalcFailed(name, failure_of(f"calc {name!r}", exc, debug))
            failed[name] = failure
            raise failure from None
        if key is not None:
            graph.memo_put(key, value)
        done[name] = value
        return value

    values: dict[str, Any] = {}
    failures: dict[str, OutputFailure] = {}
    for name in targets:
        node = graph.outputs[name]
        try:
            args = {read: value_of(read) for read in node.reads}
        except _CalcFailed as exc:
            failures[name] = exc.failure
            continue
        try:
            values[name] = node.func(**args)
        except Exception as exc:
            failures[name] = failure_of(f"output {name!r}", exc, debug)
    return Evaluation(values, failures, ran)


def failure_of(where: str, exc: Exception, debug: bool) -> OutputFailure:
    if isinstance(exc, DashboardError):
        return OutputFailure(str(exc))
    logger.error("Dashboard %s failed", where, exc_info=exc)
    if debug:
        details = "".join(traceback.format_exception(exc))
        return OutputFailure(f"Error in {where}: {type(exc).__name__}: {exc}", details)
    return OutputFailure(f"This output could not be computed (error in {where}).")


class MemoCache:
    """A small thread-safe LRU of calc results, keyed by the calc and the inputs it depends on.

    An optimisation only: every process computes the same value for the same key.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True, self._items[key]
        return False, None

    def put(self, key: bytes, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
