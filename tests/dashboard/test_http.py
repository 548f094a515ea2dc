"""The dashboard over HTTP, under WSGI and ASGI: page, updates, single outputs, hostile input."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from trellis import App
from trellis.dashboard import (
    Card,
    Checkbox,
    Dashboard,
    DashboardClient,
    DashboardUpdateError,
    FileUpload,
    MultiSelect,
    Row,
    Select,
    Slider,
    Tab,
    Tabs,
    Text,
)
from trellis.testing import TestClient

HEADERS = {"x-trellis-dashboard": "1"}


def build_page(calls: Counter[str]) -> Dashboard:
    page = Dashboard(
        "Sales <test>",
        sidebar=[
            Select("region", ["North", "South"]),
            Slider("months", 1, 12, value=6),
            Text("note", max_length=50),
            MultiSelect("tags", ["a", "b"]),
            Checkbox("flag"),
            FileUpload("upload", max_bytes=16),
        ],
        body=[
            Row(Card("Trend", "trend"), "total"),
            Tabs(Tab("Notes", "echo"), Tab("Other", "file_size")),
        ],
    )

    @page.calc
    def filtered(region: str, months: int) -> list[int]:
        calls["filtered"] += 1
        return [months] * (2 if region == "North" else 1)

    @page.calc
    def trend_data(filtered: list[int]) -> list[int]:
        calls["trend_data"] += 1
        return [v * 2 for v in filtered]

    @page.text()
    def trend(trend_data: list[int]) -> str:
        calls["trend"] += 1
        return ",".join(map(str, trend_data))

    @page.value_box("Total")
    def total(filtered: list[int]) -> int:
        calls["total"] += 1
        return sum(filtered)

    @page.text()
    def echo(note: str) -> str:
        calls["echo"] += 1
        return note

    @page.text()
    def file_size(upload: Any) -> str:
        return "none" if upload is None else f"{upload.filename}: {len(upload.content)}"

    @page.text(refresh_on="orders")
    def pushed(flag: bool) -> str:
        calls["pushed"] += 1
        return f"flag={flag}"

    return page


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def dashboard_app(app: App, calls: Counter[str]) -> App:
    app.mount_dashboard("/sales", build_page(calls))
    return app


@pytest.fixture
def dash(dashboard_app: App, client: TestClient, calls: Counter[str]) -> TestClient:
    calls.clear()
    return client


def post_update(client: TestClient, body: Any, **kwargs: Any) -> Any:
    headers = {**HEADERS, **kwargs.pop("headers", {})}
    if isinstance(body, bytes | str):
        return client.post(
            "/sales/update",
            content=body,
            headers={"content-type": "application/json", **headers},
            **kwargs,
        )
    return client.post("/sales/update", json=body, headers=headers, **kwargs)


# -- the page --


def test_page_renders_inputs_layout_and_every_output(dash: TestClient) -> None:
    response = dash.get("/sales")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert "<title>Sales &lt;test&gt;</title>" in html
    assert 'id="tr-out-trend"' in html and "12,12" in html
    assert '<div class="tr-row">' in html and '<h2 class="tr-card-title">Trend</h2>' in html
    assert 'role="tablist"' in html
    assert '<select id="tr-in-region" name="region">' in html
    assert 'src="/sales/_runtime/dashboard.js?v=' in html


def test_page_works_under_the_default_content_security_policy(dash: TestClient) -> None:
    response = dash.get("/sales")

    assert "default-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    # No inline script, inline event handler or style attribute the policy would block.
    assert " style=" not in html and " on" not in html.replace(" option", "")
    scripts = html.split("<script")[1:]
    assert all(s.startswith((' type="application/json"', ' src="/')) for s in scripts)


def test_page_query_parameters_set_the_initial_inputs(dash: TestClient) -> None:
    html = dash.get("/sales?region=South&months=3&note=hi").text

    assert '<pre class="tr-text">6</pre>' in html  # trend with South, 3 months
    assert '<option value="South" selected>' in html


def test_page_with_an_invalid_query_is_422(dash: TestClient) -> None:
    response = dash.get("/sales?months=99", headers={"accept": "application/json"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "months"]


def test_page_config_lists_which_outputs_each_input_affects(dash: TestClient) -> None:
    html = dash.get("/sales").text
    start = html.index('<script type="application/json" id="tr-config">') + len(
        '<script type="application/json" id="tr-config">'
    )
    config = json.loads(html[start : html.index("</script>", start)])

    assert config["affects"]["region"] == ["total", "trend"]
    assert config["affects"]["note"] == ["echo"]
    assert config["inputs_state"]["months"] == 6
    assert config["endpoints"]["update"] == "/sales/update"


def test_runtime_assets_are_served_with_long_caching(dash: TestClient) -> None:
    script = dash.get("/sales/_runtime/dashboard.js")
    style = dash.get("/sales/_runtime/dashboard.css")

    assert script.status_code == 200 and "use strict" in script.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]
    assert style.headers["content-type"].startswith("text/css")


def test_unknown_runtime_file_is_404(dash: TestClient) -> None:
    assert dash.get("/sales/_runtime/evil.js").status_code == 404


def test_spec_gives_defaults_and_inputs(dash: TestClient) -> None:
    spec = dash.get("/sales/spec").json()

    assert spec["defaults"]["region"] == "North"
    assert spec["inputs"]["months"] == {"kind": "slider", "debounce": 200}


# -- updates --


def test_update_recomputes_only_downstream_outputs_and_calcs(
    dash: TestClient, calls: Counter[str]
) -> None:
    body = {"seq": 4, "inputs": {"region": "South", "months": 3}, "changed": ["region"]}

    reply = post_update(dash, body).json()

    assert reply["seq"] == 4
    assert list(reply["outputs"]) == ["trend", "total"]
    assert reply["outputs"]["trend"] == {"html": '<pre class="tr-text">6</pre>'}
    assert sorted(reply["ran"]) == ["filtered", "trend_data"]
    assert calls == Counter(filtered=1, trend_data=1, trend=1, total=1)


def test_update_without_changed_recomputes_everything(dash: TestClient) -> None:
    reply = post_update(dash, {"seq": 1, "inputs": {}}).json()

    assert set(reply["outputs"]) == {"trend", "total", "echo", "file_size", "pushed"}


def test_refresh_recomputes_the_named_output_only(dash: TestClient, calls: Counter[str]) -> None:
    reply = post_update(dash, {"seq": 2, "inputs": {}, "changed": [], "refresh": ["pushed"]}).json()

    assert list(reply["outputs"]) == ["pushed"] and calls == Counter(pushed=1)


def test_update_escapes_text_from_inputs(dash: TestClient) -> None:
    reply = post_update(
        dash, {"seq": 1, "inputs": {"note": "<img src=x onerror=alert(1)>"}, "changed": ["note"]}
    ).json()

    assert reply["outputs"]["echo"]["html"] == (
        '<pre class="tr-text">&lt;img src=x onerror=alert(1)&gt;</pre>'
    )


def test_update_accepts_an_uploaded_file(dash: TestClient) -> None:
    upload = {"name": "a.csv", "type": "text/csv", "data": "eCwx"}

    reply = post_update(dash, {"inputs": {"upload": upload}, "changed": ["upload"]}).json()

    assert reply["outputs"]["file_size"]["html"] == '<pre class="tr-text">a.csv: 3</pre>'


def test_output_endpoint_returns_an_html_fragment(dash: TestClient) -> None:
    response = dash.get("/sales/outputs/total?region=South&months=4")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<div class="tr-valuebox-value">4</div>' in response.text


def test_output_endpoint_returns_json_when_asked(dash: TestClient, calls: Counter[str]) -> None:
    response = dash.get(
        "/sales/outputs/trend?months=2&tags=a&tags=b", headers={"accept": "application/json"}
    )

    assert response.json() == {
        "name": "trend",
        "kind": "text",
        "html": '<pre class="tr-text">4,4</pre>',
        "data": "4,4",
    }
    assert calls == Counter(filtered=1, trend_data=1, trend=1)


def test_output_endpoint_for_an_unknown_output_is_404(dash: TestClient) -> None:
    assert dash.get("/sales/outputs/nothing").status_code == 404


def test_output_endpoint_validates_its_query(dash: TestClient, calls: Counter[str]) -> None:
    response = dash.get("/sales/outputs/trend?months=1e9", headers={"accept": "application/json"})

    assert response.status_code == 422 and not calls


# -- hostile inputs: 422/413/415/403 and nothing recomputed --


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"inputs": {"months": 1e9}}, ["inputs", "months"]),
        ({"inputs": {"months": "6"}}, ["inputs", "months"]),
        ({"inputs": {"region": "Mars"}}, ["inputs", "region"]),
        ({"inputs": {"tags": ["a", "zzz"]}}, ["inputs", "tags"]),
        ({"inputs": {"flag": "yes"}}, ["inputs", "flag"]),
        ({"inputs": {"__class__": 1}}, ["inputs", "__class__"]),
        ({"inputs": {}, "changed": ["nope"]}, ["changed", "nope"]),
        ({"inputs": {}, "refresh": ["nope"]}, ["refresh", "nope"]),
        ({"inputs": {}, "changed": "region"}, ["body", "changed"]),
        ({"inputs": [], "seq": 1}, ["body", "inputs"]),
        ({"seq": -1}, ["body", "seq"]),
        ({"seq": 2**60}, ["body", "seq"]),
        ({"inputs": {}, "extra": True}, ["body", "extra"]),
        ([1, 2, 3], ["body"]),
    ],
)
def test_hostile_update_is_422_and_nothing_runs(
    dash: TestClient, calls: Counter[str], body: Any, loc: list[str]
) -> None:
    response = post_update(dash, body)

    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["errors"]]
    assert not calls


def test_every_invalid_input_is_reported_at_once(dash: TestClient) -> None:
    response = post_update(dash, {"inputs": {"months": 0, "region": 1, "bogus": 2}})

    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == ["bogus", "months", "region"]


def test_oversized_update_is_413_and_nothing_runs(dash: TestClient, calls: Counter[str]) -> None:
    body = json.dumps({"inputs": {"note": "x" * (2 * 1024 * 1024)}})

    response = post_update(dash, body)

    assert response.status_code == 413 and not calls


def test_oversized_file_is_413_and_nothing_runs(dash: TestClient, calls: Counter[str]) -> None:
    upload = {"name": "big", "type": "text/plain", "data": "eHh4" * 100}

    response = post_update(dash, {"inputs": {"upload": upload}, "changed": ["upload"]})

    assert response.status_code == 413 and not calls


def test_invalid_json_is_400(dash: TestClient, calls: Counter[str]) -> None:
    assert post_update(dash, b"{not json").status_code == 400 and not calls


def test_deeply_nested_json_is_refused(dash: TestClient, calls: Counter[str]) -> None:
    response = post_update(dash, b'{"inputs": {"tags": ' + b"[" * 200 + b"]" * 200 + b"}}")

    assert response.status_code == 400 and not calls


def test_form_encoded_update_is_415(dash: TestClient, calls: Counter[str]) -> None:
    response = dash.post("/sales/update", data={"months": "3"}, headers=HEADERS)

    assert response.status_code == 415 and not calls


def test_update_without_the_dashboard_header_is_403(dash: TestClient, calls: Counter[str]) -> None:
    response = dash.post("/sales/update", json={"inputs": {}})

    assert response.status_code == 403 and not calls


def test_cross_origin_update_is_403(dash: TestClient, calls: Counter[str]) -> None:
    response = post_update(dash, {"inputs": {}}, headers={"origin": "https://evil.example"})

    assert response.status_code == 403 and not calls


def test_same_origin_update_is_accepted(dash: TestClient) -> None:
    response = post_update(dash, {"inputs": {}}, headers={"origin": "http://testserver"})

    assert response.status_code == 200


# -- failures shown on affected outputs only --


def test_a_failing_calc_shows_an_error_on_its_outputs_only(
    app: App, make_client: Callable[..., TestClient]
) -> None:
    page = Dashboard("Failing", sidebar=[Slider("n", 0, 3)])

    @page.calc
    def broken(n: int) -> int:
        if n == 2:
            raise RuntimeError("database password is hunter2")
        return n

    @page.text()
    def uses(broken: int) -> int:
        return broken

    @page.text()
    def other(n: int) -> int:
        return n

    app.mount_dashboard("/d", page)
    client = make_client(app)

    reply = client.post(
        "/d/update", json={"inputs": {"n": 2}, "changed": ["n"]}, headers=HEADERS
    ).json()

    assert reply["outputs"]["other"] == {"html": '<pre class="tr-text">2</pre>'}
    assert reply["outputs"]["uses"] == {
        "error": "This output could not be computed (error in calc 'broken')."
    }
    assert "hunter2" not in client.get("/d?n=2").text


def test_in_debug_the_traceback_is_sent_with_the_error(
    make_client: Callable[..., TestClient],
) -> None:
    app = App(settings={"DEBUG": True})
    page = Dashboard("Failing")

    @page.text()
    def broken() -> int:
        raise RuntimeError("visible in debug")

    app.mount_dashboard("/d", page)
    reply = make_client(app).post("/d/update", json={"inputs": {}}, headers=HEADERS).json()

    assert reply["outputs"]["broken"]["error"].endswith("RuntimeError: visible in debug")
    assert "Traceback" in reply["outputs"]["broken"]["traceback"]


def test_mounting_checks_the_graph(app: App) -> None:
    page = Dashboard("Bad")

    @page.text()
    def shown(missing: int) -> int:
        return missing

    with pytest.raises(Exception, match="reads 'missing'"):
        app.mount_dashboard("/bad", page)


@pytest.mark.parametrize("prefix", ["sales", "/sales/", "/sales/{id}"])
def test_mount_prefix_must_be_a_fixed_path(app: App, prefix: str) -> None:
    with pytest.raises(ValueError, match="fixed path"):
        app.mount_dashboard(prefix, Dashboard("X"))


# -- DashboardClient --


def test_dashboard_client_reports_which_calcs_ran(dashboard_app: App, protocol: str) -> None:
    with DashboardClient(dashboard_app, "/sales", protocol=protocol) as session:  # type: ignore[arg-type]
        assert session.outputs["trend"] == '<pre class="tr-text">12,12</pre>'

        session.set(months=2)

        assert session.ran == {"filtered", "trend_data"}
        assert session.updated == {"trend", "total"}
        assert session.outputs["trend"] == '<pre class="tr-text">4,4</pre>'

        session.set(note="hello")

        assert session.ran == set() and session.updated == {"echo"}


def test_dashboard_client_keeps_inputs_when_an_update_is_refused(dashboard_app: App) -> None:
    with DashboardClient(dashboard_app, "/sales") as session:
        with pytest.raises(DashboardUpdateError) as caught:
            session.set(months=99)

        assert caught.value.status == 422
        assert session.inputs["months"] == 6


def test_dashboard_client_reads_one_output_as_data(dashboard_app: App) -> None:
    with DashboardClient(dashboard_app, "/sales") as session:
        session.set(region="South", months=5, tags=["a"], flag=True)

        assert session.output("total")["data"] == 5
        assert session.output("pushed")["data"] == "flag=True"


def test_dashboard_client_refresh_reruns_one_output(dashboard_app: App) -> None:
    with DashboardClient(dashboard_app, "/sales") as session:
        session.refresh("pushed")

        assert session.updated == {"pushed"} and session.ran == set()
