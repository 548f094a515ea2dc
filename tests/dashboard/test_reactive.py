"""The reactive core: graph checks at definition time and minimal, pure recomputation."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from trellis.dashboard import Dashboard, DashboardError, GraphError, Select, Slider, Text, evaluate
from trellis.dashboard.reactive import Graph


def counted_page() -> tuple[Dashboard, Counter[str]]:
    """region -> filtered -> (total, chart); months -> filtered; title reads only `label`."""
    calls: Counter[str] = Counter()
    page = Dashboard(
        "Counted",
        sidebar=[
            Select("region", ["North", "South"]),
            Slider("months", 1, 12, value=6),
            Text("label", value="Sales"),
        ],
    )

    @page.calc
    def filtered(region: str, months: int) -> list[int]:
        calls["filtered"] += 1
        return list(range(months)) if region == "North" else [1]

    @page.calc
    def total(filtered: list[int]) -> int:
        calls["total"] += 1
        return sum(filtered)

    @page.calc
    def doubled(total: int) -> int:
        calls["doubled"] += 1
        return 2 * total

    @page.text()
    def headline(total: int, doubled: int) -> str:
        calls["headline"] += 1
        return f"{total} / {doubled}"

    @page.text()
    def count(filtered: list[int]) -> int:
        calls["count"] += 1
        return len(filtered)

    @page.text()
    def title(label: str) -> str:
        calls["title"] += 1
        return label

    return page, calls


def defaults(page: Dashboard) -> dict[str, Any]:
    return {name: field.value for name, field in page.inputs.items()}


def test_calc_reading_an_unknown_name_fails_when_the_graph_is_built() -> None:
    page = Dashboard("Bad", sidebar=[Select("region", ["A"])])

    @page.calc
    def filtered(regoin: str) -> str:
        return regoin

    with pytest.raises(
        GraphError, match=r"calc 'filtered' reads 'regoin'.*Did you mean 'region'\?"
    ):
        page.graph  # noqa: B018


def test_output_reading_an_unknown_name_fails_when_the_graph_is_built() -> None:
    page = Dashboard("Bad")

    @page.text()
    def shown(missing: int) -> int:
        return missing

    with pytest.raises(GraphError, match="output 'shown' reads 'missing'"):
        page.graph  # noqa: B018


def test_a_cycle_between_calcs_is_named_in_the_error() -> None:
    page = Dashboard("Cycle")

    @page.calc
    def a(c: int) -> int:
        return c

    @page.calc
    def b(a: int) -> int:
        return a

    @page.calc
    def c(b: int) -> int:
        return b

    with pytest.raises(GraphError, match=r"cycle: a -> c -> b -> a"):
        page.graph  # noqa: B018


def test_a_calc_reading_itself_is_a_cycle() -> None:
    with pytest.raises(GraphError, match="cycle: loop -> loop"):
        Graph([], {"loop": lambda loop: loop}, {})


def test_reading_an_output_is_refused_with_a_hint() -> None:
    page = Dashboard("Bad")

    @page.text()
    def first() -> int:
        return 1

    @page.text()
    def second(first: int) -> int:
        return first

    with pytest.raises(GraphError, match="Outputs cannot be read"):
        page.graph  # noqa: B018


def test_an_input_and_a_calc_cannot_share_a_name() -> None:
    page = Dashboard("Bad", sidebar=[Slider("months", 1, 3)])

    @page.calc
    def months() -> int:
        return 1

    with pytest.raises(GraphError, match="'months' is used by both an input and a calc"):
        page.graph  # noqa: B018


def test_defining_a_name_twice_is_refused() -> None:
    page = Dashboard("Bad")

    @page.calc
    def value() -> int:
        return 1

    with pytest.raises(GraphError, match="defined twice"):

        @page.text()
        def value() -> int:
            return 2


def test_async_functions_are_refused() -> None:
    page = Dashboard("Bad")

    @page.calc
    async def fetch() -> int:
        return 1

    with pytest.raises(GraphError, match="is async"):
        page.graph  # noqa: B018


def test_var_keyword_parameters_are_refused() -> None:
    page = Dashboard("Bad")

    @page.calc
    def everything(**values: Any) -> int:
        return 1

    with pytest.raises(GraphError, match="each parameter must name one input or calc"):
        page.graph  # noqa: B018


def test_defining_after_the_graph_is_built_is_refused() -> None:
    page, _ = counted_page()
    page.graph  # noqa: B018

    with pytest.raises(GraphError, match="already mounted"):

        @page.text()
        def late() -> int:
            return 1


def test_the_layout_cannot_place_an_unknown_output() -> None:
    page = Dashboard("Bad", body=["nowhere"])

    with pytest.raises(GraphError, match=r"places \['nowhere'\]"):
        page.graph  # noqa: B018


def test_first_evaluation_computes_every_output_and_each_calc_once() -> None:
    page, calls = counted_page()

    result = evaluate(page.graph, defaults(page), None)

    assert set(result.values) == {"headline", "count", "title"}
    assert calls == Counter(filtered=1, total=1, doubled=1, headline=1, count=1, title=1)
    assert sorted(result.ran) == ["doubled", "filtered", "total"]


def test_changing_one_input_runs_exactly_the_downstream_calcs_each_once() -> None:
    page, calls = counted_page()
    inputs = defaults(page) | {"months": 3}

    result = evaluate(page.graph, inputs, ["months"])

    assert set(result.values) == {"headline", "count"}
    assert result.values["headline"] == "3 / 6"
    assert calls == Counter(filtered=1, total=1, doubled=1, headline=1, count=1)


def test_changing_an_input_no_calc_reads_runs_no_calc() -> None:
    page, calls = counted_page()

    result = evaluate(page.graph, defaults(page) | {"label": "Revenue"}, ["label"])

    assert result.values == {"title": "Revenue"}
    assert result.ran == []
    assert calls == Counter(title=1)


def test_an_empty_change_recomputes_nothing() -> None:
    page, calls = counted_page()

    result = evaluate(page.graph, defaults(page), [])

    assert result.values == {} and result.ran == [] and not calls


def test_refresh_recomputes_only_the_named_output_and_its_calcs() -> None:
    page, calls = counted_page()

    result = evaluate(page.graph, defaults(page), [], outputs=["count"])

    assert set(result.values) == {"count"}
    assert calls == Counter(filtered=1, count=1)


def test_the_downstream_map_is_computed_from_parameter_names() -> None:
    page, _ = counted_page()

    assert page.graph.downstream == {
        "region": frozenset({"headline", "count"}),
        "months": frozenset({"headline", "count"}),
        "label": frozenset({"title"}),
    }


def test_evaluate_is_pure_the_same_inputs_give_the_same_outputs() -> None:
    page, _ = counted_page()
    inputs = defaults(page) | {"region": "South"}

    first = evaluate(page.graph, inputs, None)
    second = evaluate(page.graph, inputs, None)

    assert first.values == second.values == {"headline": "1 / 2", "count": 1, "title": "Sales"}


def test_a_failing_calc_fails_only_the_outputs_that_read_it() -> None:
    page = Dashboard("Fails", sidebar=[Slider("n", 0, 5)])

    @page.calc
    def broken(n: int) -> int:
        raise ZeroDivisionError("secret internals")

    @page.text()
    def uses_it(broken: int) -> int:
        return broken

    @page.text()
    def fine(n: int) -> int:
        return n

    result = evaluate(page.graph, {"n": 1}, None)

    assert result.values == {"fine": 1}
    failure = result.failures["uses_it"]
    assert failure.message == "This output could not be computed (error in calc 'broken')."
    assert "secret" not in failure.message and failure.traceback is None


def test_a_failing_calc_runs_once_even_when_several_outputs_read_it() -> None:
    calls: Counter[str] = Counter()
    page = Dashboard("Fails", sidebar=[Slider("n", 0, 5)])

    @page.calc
    def broken(n: int) -> int:
        calls["broken"] += 1
        raise ValueError("nope")

    @page.calc
    def downstream(broken: int) -> int:
        calls["downstream"] += 1
        return broken

    @page.text()
    def one(downstream: int) -> int:
        return downstream

    @page.text()
    def two(broken: int, downstream: int) -> int:
        return broken

    result = evaluate(page.graph, {"n": 1}, None)

    assert set(result.failures) == {"one", "two"}
    assert calls == Counter(broken=1)


def test_in_debug_the_failure_carries_the_exception_and_traceback() -> None:
    page = Dashboard("Fails")

    @page.text()
    def broken() -> int:
        raise KeyError("month")

    failure = evaluate(page.graph, {}, None, debug=True).failures["broken"]

    assert failure.message == "Error in output 'broken': KeyError: 'month'"
    assert failure.traceback is not None and "Traceback" in failure.traceback


def test_dashboard_error_messages_are_shown_as_they_are() -> None:
    page = Dashboard("Fails", sidebar=[Slider("n", 0, 5)])

    @page.calc
    def rows(n: int) -> int:
        if n == 0:
            raise DashboardError("Pick at least one month.")
        return n

    @page.text()
    def shown(rows: int) -> int:
        return rows

    failure = evaluate(page.graph, {"n": 0}, None).failures["shown"]

    assert failure.message == "Pick at least one month."


def test_a_cached_calc_is_not_rerun_for_inputs_it_has_seen() -> None:
    calls: Counter[str] = Counter()
    page = Dashboard("Cached", sidebar=[Slider("n", 0, 5), Text("other")])

    @page.calc(cache=True)
    def heavy(n: int) -> int:
        calls["heavy"] += 1
        return n * 10

    @page.text()
    def shown(heavy: int, other: str) -> str:
        return f"{heavy}{other}"

    first = evaluate(page.graph, {"n": 2, "other": "a"}, None)
    second = evaluate(page.graph, {"n": 2, "other": "b"}, ["other"])
    third = evaluate(page.graph, {"n": 3, "other": "b"}, ["n"])

    assert (first.values, second.values, third.values) == (
        {"shown": "20a"},
        {"shown": "20b"},
        {"shown": "30b"},
    )
    assert calls == Counter(heavy=2)
    assert second.ran == [] and third.ran == ["heavy"]
