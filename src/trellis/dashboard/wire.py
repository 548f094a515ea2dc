"""The update envelope, the same over HTTP POST and WebSocket.

Browser -> server::

    {"seq": 7, "inputs": {"region": "North", "months": 6}, "changed": ["months"],
     "refresh": []}

`inputs` holds every input's current value (missing ones take their defaults); `changed` lists the
inputs that changed (null or absent: render everything); `refresh` names outputs to re-render
whatever changed (timer and event pushes). Server -> browser::

    {"seq": 7, "outputs": {"trend": {"html": "..."}, "table": {"error": "..."}},
     "ran": ["filtered"]}

`seq` is echoed so the browser can drop replies older than what it already shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import HTTPError, ValidationError
from .inputs import InputError
from .outputs import Rendered
from .reactive import Evaluation, OutputFailure, evaluate, failure_of

if TYPE_CHECKING:
    from ..datastructures import MultiDict
    from .page import Dashboard

MAX_SEQ = 2**53  # what a JavaScript number holds exactly


@dataclasses.dataclass(frozen=True)
class Update:
    """One checked update: sequence number, validated inputs, what changed, what to refresh."""

    seq: int
    inputs: dict[str, Any]
    changed: list[str] | None
    refresh: list[str]


def _error(loc: list[Any], field: str, message: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "field": field, "message": message, "type": kind}


def validate_inputs(page: Dashboard, raw: Mapping[str, Any], loc: str = "inputs") -> dict[str, Any]:
    """Every input's validated value: `raw` where given, the default otherwise.

    Unknown names and invalid values are all reported in one 422 (413 for an oversized file).
    """
    errors = []
    values: dict[str, Any] = {}
    too_large = False
    for name in raw:
        if name not in page.inputs:
            errors.append(
                _error([loc, str(name)[:100]], str(name)[:100], "unknown input", "unknown_input")
            )
    for name, field in page.inputs.items():
        if name not in raw:
            values[name] = field.value
            continue
        try:
            values[name] = field.validate(raw[name])
        except InputError as exc:
            too_large = too_large or exc.status == 413
            errors.append(_error([loc, name], name, str(exc), "invalid_input"))
    if too_large:
        raise HTTPError(413, "; ".join(f"{e['field']}: {e['message']}" for e in errors))
    if errors:
        raise ValidationError(errors)
    return values


def inputs_from_query(page: Dashboard, query: MultiDict[str]) -> dict[str, Any]:
    """Validated inputs from a query string (`?region=North&months=6`), defaults for the rest."""
    raw: dict[str, Any] = {}
    errors = []
    for name in query:
        field = page.inputs.get(name)
        if field is None:
            raw[name] = None  # reported as unknown by validate_inputs
            continue
        try:
            raw[name] = field.from_query(query.getlist(name))
        except InputError as exc:
            errors.append(_error(["query", name], name, str(exc), "invalid_input"))
    if errors:
        raise ValidationError(errors)
    return validate_inputs(page, raw, loc="query")


def parse_update(page: Dashboard, body: Any) -> Update:
    """Check an envelope from the browser; 422 naming what is wrong, before anything runs."""
    if not isinstance(body, dict):
        raise ValidationError([_error(["body"], "body", "expected a JSON object", "type")])
    errors = []
    unknown = set(body) - {"seq", "inputs", "changed", "refresh"}
    for key in sorted(unknown)[:10]:
        errors.append(_error(["body", key[:100]], key[:100], "unknown field", "unknown_field"))
    seq = body.get("seq", 0)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        errors.append(_error(["body", "seq"], "seq", "expected a whole number >= 0", "type"))
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        errors.append(_error(["body", "inputs"], "inputs", "expected an object", "type"))
    changed = body.get("changed")
    if changed is not None:
        if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
            errors.append(
                _error(["body", "changed"], "changed", "expected a list of names", "type")
            )
        else:
            for name in changed:
                if name not in page.inputs:
                    errors.append(
                        _error(
                            ["changed", name[:100]], name[:100], "unknown input", "unknown_input"
                        )
                    )
    refresh = body.get("refresh", [])
    if not isinstance(refresh, list) or not all(isinstance(r, str) for r in refresh):
        errors.append(_error(["body", "refresh"], "refresh", "expected a list of names", "type"))
    else:
        for name in refresh:
            if name not in page.output_specs:
                errors.append(
                    _error(["refresh", name[:100]], name[:100], "unknown output", "unknown_output")
                )
    if errors:
        raise ValidationError(errors)
    values = validate_inputs(page, inputs)
    return Update(
        seq, values, list(dict.fromkeys(changed)) if changed is not None else None, refresh
    )


def render_outputs(
    page: Dashboard, evaluation: Evaluation, debug: bool
) -> dict[str, Rendered | OutputFailure]:
    """Turn computed values into HTML; a renderer that fails fails only its own output."""
    result: dict[str, Rendered | OutputFailure] = dict(evaluation.failures)
    for name, value in evaluation.values.items():
        try:
            result[name] = page.output_specs[name].render(value)
        except Exception as exc:
            result[name] = failure_of(f"output {name!r}", exc, debug)
    return result


def wire_output(item: Rendered | OutputFailure) -> dict[str, Any]:
    """One output as it travels in a reply."""
    if isinstance(item, Rendered):
        return {"html": str(item.html)}
    out: dict[str, Any] = {"error": item.message}
    if item.traceback is not None:
        out["traceback"] = item.traceback
    return out


def answer(page: Dashboard, update: Update, debug: bool = False) -> dict[str, Any]:
    """Evaluate an update and build the reply envelope (pure: no state is read or kept)."""
    evaluation = evaluate(
        page.graph, update.inputs, update.changed, outputs=update.refresh, debug=debug
    )
    rendered = render_outputs(page, evaluation, debug)
    ordered = [name for name in page.output_specs if name in rendered]
    return {
        "seq": update.seq,
        "outputs": {name: wire_output(rendered[name]) for name in ordered},
        "ran": evaluation.ran,
    }
