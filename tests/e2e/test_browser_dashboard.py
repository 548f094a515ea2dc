"""A real browser drives the example dashboard: a slider and a select update the chart and the
table, an unrelated output is left alone, and a stale reply never overwrites a newer one.

A screenshot is saved as build/dashboard.png (a CI artifact).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from .servers import (
    HOST,
    REPO_ROOT,
    RunningServer,
    free_port,
    server_command,
    server_environment,
)

# The chromium fixtures of the AJAX browser test (skip or fail when chromium is missing).

pytestmark = pytest.mark.e2e

SCREENSHOT = REPO_ROOT / "build" / "dashboard.png"
# The runtime mirrors its state in data-* attributes: expect() polls those without running
# script in the page (the default Content-Security-Policy forbids the eval that
# page.wait_for_function needs).
AT_LEAST_ONCE = re.compile(r"^[1-9][0-9]*$")
AT_LEAST_TWICE = re.compile(r"^([2-9]|[1-9][0-9]+)$")


@pytest.fixture
def dashboard_server(serve: Callable[[str, str], RunningServer]) -> RunningServer:
    return serve("uvicorn", "dashboard")


def open_dashboard(page: Page, server: RunningServer) -> None:
    page.goto(server.url("/sales"))
    expect(page.locator("html")).to_have_attribute("data-dashboard-ready", "true")


def wait_until_settled(page: Page) -> None:
    expect(page.locator(".tr-output.tr-loading")).to_have_count(0)


def renders(page: Page, name: str) -> int:
    count: int = page.evaluate(f"window.trellisDashboard.renders[{name!r}] || 0")
    return count


def test_slider_and_select_update_chart_and_table_but_not_unrelated_output(
    page: Page, script_errors: list[str], dashboard_server: RunningServer
) -> None:
    open_dashboard(page, dashboard_server)
    table_rows = page.locator("#tr-out-monthly_table tbody tr")
    expect(table_rows).to_have_count(12)
    chart_before = page.inner_html("#tr-out-trend")
    revenue_before = page.inner_text("#tr-out-revenue")
    # Mark the unrelated price list's DOM: a re-render would replace the marked element.
    page.evaluate("document.querySelector('#tr-out-price_list table').dataset.marker = 'kept'")

    slider = page.locator("#tr-in-months")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowLeft")
    expect(page.locator("#tr-in-months + output")).to_have_text("9")
    expect(table_rows).to_have_count(9)
    wait_until_settled(page)

    page.select_option("#tr-in-region", "South")
    expect(page.locator("#tr-out-summary")).to_contain_text("South")
    wait_until_settled(page)

    assert page.inner_html("#tr-out-trend") != chart_before
    chart = page.locator("#tr-out-trend img.tr-plot")
    assert chart.get_attribute("src").startswith("data:image/svg+xml;base64,")  # type: ignore[union-attr]
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")
    assert page.inner_text("#tr-out-revenue") != revenue_before
    assert renders(page, "trend") >= 2 and renders(page, "monthly_table") >= 2
    assert renders(page, "price_list") == 0
    marker = page.evaluate("document.querySelector('#tr-out-price_list table').dataset.marker")
    assert marker == "kept"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert script_errors == []


def test_a_stale_reply_does_not_overwrite_a_newer_one(
    page: Page, script_errors: list[str], dashboard_server: RunningServer
) -> None:
    open_dashboard(page, dashboard_server)
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if not held:
            held.append(route)  # answered later, after the newer update
        else:
            route.continue_()

    page.route("**/sales/update", hold_first)
    page.select_option("#tr-in-region", "North")
    expect(page.locator("html")).to_have_attribute("data-seq", "1")
    page.select_option("#tr-in-region", "West")
    expect(page.locator("#tr-out-summary")).to_contain_text("West")

    held[0].continue_()
    page.wait_for_timeout(500)  # the old reply for "North" arrives now

    expect(page.locator("#tr-out-summary")).to_contain_text("West")
    assert script_errors == []


def test_a_calc_error_shows_on_affected_outputs_only(
    page: Page, script_errors: list[str], dashboard_server: RunningServer
) -> None:
    open_dashboard(page, dashboard_server)

    page.select_option("#tr-in-products", [])
    wait_until_settled(page)

    expect(page.locator("#tr-out-revenue .tr-error")).to_have_text("Pick at least one product.")
    expect(page.locator("#tr-out-price_list .tr-error")).to_have_count(0)
    assert script_errors == []


def test_sorting_and_paging_the_table(
    page: Page, script_errors: list[str], dashboard_server: RunningServer
) -> None:
    page.goto(dashboard_server.url("/sales?months=24"))
    rows = page.locator("#tr-out-monthly_table tbody tr:not([hidden])")
    expect(rows).to_have_count(12)
    expect(page.locator("#tr-out-monthly_table .tr-pager span")).to_have_text("Page 1 of 2")

    page.click("#tr-out-monthly_table th:first-child")

    expect(rows.first.locator("td").first).to_have_text("2024-01")
    page.click("#tr-out-monthly_table .tr-pager [data-step='1']")
    expect(rows.first.locator("td").first).to_have_text("2025-01")
    assert script_errors == []


def test_runtime_needs_nothing_from_the_network(dashboard_server: RunningServer) -> None:
    html = dashboard_server.get("/sales").text
    script = dashboard_server.get("/sales/_runtime/dashboard.js").text

    assert "http://" not in html.replace(dashboard_server.base_url, "").split("<body")[0]
    assert "https://" not in script and "http://" not in script


@pytest.fixture(scope="module")
def push_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """uvicorn serving tests/e2e/apps/dashboard_push (an app made for this test)."""
    app_dir = Path(__file__).parent / "apps" / "dashboard_push"
    port = free_port()
    log_path = tmp_path_factory.mktemp("push-server") / "uvicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command("uvicorn", app_dir, port),
            cwd=REPO_ROOT,
            env=server_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer("uvicorn", "dashboard_push", f"http://{HOST}:{port}", process, log_path)
    try:
        server.wait_until_answering()
        yield server
    finally:
        server.stop()


def test_a_published_event_refreshes_its_output_in_the_browser(
    page: Page, script_errors: list[str], push_server: RunningServer
) -> None:
    page.goto(push_server.url("/live?n=3"))
    expect(page.locator("html")).to_have_attribute("data-dashboard-ready", "true")
    expect(page.locator("html")).to_have_attribute("data-events", "connected")
    before = page.inner_text("#tr-out-pinged")

    httpx.post(push_server.url("/publish"), timeout=10)

    expect(page.locator("#tr-out-pinged")).to_have_attribute("data-renders", AT_LEAST_ONCE)
    after = page.inner_text("#tr-out-pinged")
    assert after != before and after.startswith("n=3 render=")
    assert page.evaluate("window.trellisDashboard.renders.still || 0") == 0
    assert script_errors == []


def test_an_output_with_a_timer_refreshes_by_itself(
    page: Page, script_errors: list[str], push_server: RunningServer
) -> None:
    page.goto(push_server.url("/live"))

    expect(page.locator("#tr-out-ticking")).to_have_attribute(
        "data-renders", AT_LEAST_TWICE, timeout=5000
    )

    expect(page.locator("#tr-out-ticking")).to_contain_text("tick")
    assert script_errors == []


def open_socket_page(page: Page, server: RunningServer) -> None:
    page.goto(server.url("/live-ws?n=2"))
    expect(page.locator("html")).to_have_attribute("data-dashboard-ready", "true")
    expect(page.locator("html")).to_have_attribute("data-socket", "connected")


def test_updates_travel_over_the_websocket_when_offered(
    page: Page, script_errors: list[str], push_server: RunningServer
) -> None:
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    open_socket_page(page, push_server)

    slider = page.locator("#tr-in-n")
    slider.focus()
    slider.press("ArrowRight")

    expect(page.locator("#tr-out-still")).to_have_text("still 3")
    assert posts == []
    assert script_errors == []


def test_a_published_event_is_pushed_over_the_websocket(
    page: Page, script_errors: list[str], push_server: RunningServer
) -> None:
    open_socket_page(page, push_server)

    httpx.post(push_server.url("/publish"), timeout=10)

    expect(page.locator("#tr-out-pinged")).to_have_attribute("data-renders", AT_LEAST_ONCE)
    expect(page.locator("#tr-out-pinged")).to_contain_text("n=2 render=")
    assert script_errors == []


def test_after_a_reconnect_the_browser_resends_every_input(
    page: Page, script_errors: list[str], push_server: RunningServer
) -> None:
    open_socket_page(page, push_server)
    assert page.evaluate("window.trellisDashboard.renders.still || 0") == 0

    page.evaluate("window.trellisDashboard.transport.close()")

    expect(page.locator("#tr-out-still")).to_have_attribute("data-renders", AT_LEAST_ONCE)
    expect(page.locator("#tr-out-still")).to_have_text("still 2")
    assert page.evaluate("window.trellisDashboard.socketConnected")
    assert script_errors == []


def test_with_a_session_the_runtime_sends_the_csrf_token(
    page: Page, script_errors: list[str], push_server: RunningServer
) -> None:
    page.goto(push_server.url("/login"))
    page.goto(push_server.url("/live?n=1"))
    expect(page.locator("html")).to_have_attribute("data-dashboard-ready", "true")

    slider = page.locator("#tr-in-n")
    slider.focus()
    slider.press("ArrowRight")

    expect(page.locator("#tr-out-still")).to_have_text("still 2")
    assert script_errors == []
