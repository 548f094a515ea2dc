"""A real browser signs up, logs in through the form, sees the account page and logs out
(examples/accounts under each real server, Chromium headless)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Dialog, Page, expect

from .servers import RunningServer

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"


@pytest.fixture
def accounts_server(serve: Callable[[str, str], RunningServer], server_name: str) -> RunningServer:
    return serve(server_name, "accounts")


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Messages of any alert/confirm the page opens (an XSS payload that ran would open one)."""
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


def sign_up(page: Page, server: RunningServer) -> str:
    email = f"user-{secrets.token_hex(4)}@example.com"
    page.goto(server.url("/signup"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text("Your account is ready. Log in to continue.")
    return email


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_log_in_see_the_account_and_log_out(
    page: Page, script_errors: list[str], accounts_server: RunningServer
) -> None:
    email = sign_up(page, accounts_server)

    log_in(page, email)

    expect(page).to_have_url(accounts_server.url("/account"))
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {email}")
    expect(page.get_by_role("status")).to_have_text(f"Welcome back, {email}!")

    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("status")).to_have_text("You have been logged out.")
    expect(page.locator("#signed-in")).to_have_count(0)
    page.goto(accounts_server.url("/account"))
    expect(page).to_have_url(accounts_server.url("/login?next=%2Faccount"))
    assert script_errors == []


def test_a_wrong_password_is_refused(page: Page, accounts_server: RunningServer) -> None:
    email = sign_up(page, accounts_server)

    log_in(page, email, "not the password")

    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.locator("#signed-in")).to_have_count(0)


def test_invalid_sign_up_shows_errors_next_to_the_fields_and_keeps_the_email(
    page: Page, accounts_server: RunningServer
) -> None:
    page.goto(accounts_server.url("/signup"))
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password (at least 8 characters)").fill("short")
    page.get_by_label("Password again").fill("different")
    page.get_by_role("button", name="Create account").click()

    expect(page.locator("#email-error")).to_have_text(
        "Enter an email address like name@example.com."
    )
    expect(page.locator("#password-error")).to_contain_text("at least 8 characters")
    expect(page.locator("#confirm-error")).to_have_text("The two passwords do not match.")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    expect(page.get_by_label("Password (at least 8 characters)")).to_have_value("")


def test_markup_typed_into_the_profile_is_shown_as_text(
    page: Page, dialogs: list[str], accounts_server: RunningServer
) -> None:
    email = sign_up(page, accounts_server)
    log_in(page, email)
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'

    page.get_by_label("Display name").fill(hostile)
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Profile saved.")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {hostile}")
    assert page.locator("img").count() == 0
    assert dialogs == []
