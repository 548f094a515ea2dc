"""A real browser opens an EventSource and a WebSocket on the live example and shows messages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .servers import RunningServer

pytestmark = pytest.mark.e2e


def test_page_shows_server_sent_events_as_they_arrive(
    page: Page,
    script_errors: list[str],
    live_server: RunningServer,
) -> None:
    page.goto(live_server.url("/"))

    events = page.locator("#events li")
    expect(events.nth(2)).to_be_visible()
    expect(events.nth(0)).to_have_text("tick 1: 1")
    expect(events.nth(1)).to_have_text("tick 2: 2")
    assert script_errors == []


def test_page_shows_the_websocket_echo(
    page: Page,
    script_errors: list[str],
    live_server: RunningServer,
) -> None:
    page.goto(live_server.url("/"))

    expect(page.locator("#ws-status")).to_have_text("open")
    expect(page.locator("#messages li").first).to_have_text("room 7: hello from the browser")
    assert script_errors == []
