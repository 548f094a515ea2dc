"""A real browser loads the AJAX example, clicks its button and sees the server's answer.

Drives Debian's chromium through playwright's sync API (no browser download). Locally a missing
chromium skips these tests; under CI (`CI=true`) it fails them, so a broken setup cannot pass.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .servers import RunningServer

pytestmark = pytest.mark.e2e


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
