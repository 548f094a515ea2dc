"""A real browser loads the AJAX example, clicks its button and sees the server's answer.

Drives Debian's chromium through playwright's sync API (no browser download). Locally a missing
chromium skips these tests; under CI (`CI=true`) it fails them, so a broken setup cannot pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from .servers import RunningServer

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TIMEOUT_MS = 10_000


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`"
        if running_in_ci():
            pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        yield page
    finally:
        context.close()


@pytest.fixture
def script_errors(page: Page) -> list[str]:
    """JavaScript errors and console errors (a blocked script, a failed fetch) seen by `page`."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Browsers ask for /favicon.ico on their own, whenever they like; its 404 is no error
        # of the page (and would make these tests flaky).
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", on_console)
    return errors


def test_placeholder_text_is_shown_before_the_click(page: Page, ajax_server: RunningServer) -> None:
    page.goto(ajax_server.url("/"))

    expect(page.locator("#ajaxplaceholder")).to_have_text("Ajax response placeholder")


def test_clicking_the_button_shows_the_ajax_response(
    page: Page, script_errors: list[str], ajax_server: RunningServer
) -> None:
    page.goto(ajax_server.url("/"))
    page.get_by_role("button", name="Click Me!").click()

    expect(page.locator("#ajaxplaceholder")).to_have_text("Hello AJAX!")
    assert script_errors == []
