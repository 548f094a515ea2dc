"""Arbitrary JSON sent as an update never causes a 500: it is answered or refused with a 4xx."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trellis import App
from trellis.testing import TestClient

from .test_http import HEADERS, build_page

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
input_names = st.sampled_from(["region", "months", "note", "tags", "flag", "upload", "other"])
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "seq": json_values,
        "inputs": st.dictionaries(input_names, json_values, max_size=6) | json_values,
        "changed": st.lists(input_names, max_size=3) | json_values,
        "refresh": st.lists(st.sampled_from(["trend", "nope"]), max_size=2) | json_values,
    },
)


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def fuzz_client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    app = App(settings={})
    app.mount_dashboard("/sales", build_page(Counter()))
    with TestClient(app, protocol=request.param) as client:
        yield client


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=envelopes | json_values)
def test_any_json_update_is_answered_or_refused_never_a_server_error(
    fuzz_client: TestClient, body: Any
) -> None:
    response = fuzz_client.post(
        "/sales/update",
        content=json.dumps(body),
        headers={**HEADERS, "content-type": "application/json"},
    )

    # 400: JSON the server's parser refuses (integers beyond 64 bits).
    assert response.status_code in (200, 400, 413, 422), response.text
    if response.status_code == 200:
        assert set(response.json()) == {"seq", "outputs", "ran"}


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.lists(st.tuples(input_names, st.text(max_size=12)), max_size=6))
def test_any_query_for_one_output_is_answered_or_refused(
    fuzz_client: TestClient, query: list[tuple[str, str]]
) -> None:
    response = fuzz_client.get("/sales/outputs/trend", params=query)

    assert response.status_code in (200, 422), response.text
