"""Signing in, the language switch and signing out, in real Chromium against the served app."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import PASSWORD, Live


def test_sign_in_with_password_and_sign_out(page: Page, live: Live) -> None:
    page.goto("/")
    page.click("#sign-in")
    page.fill("input[name=email]", "Alice@Example.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in-submit")
    page.wait_for_selector("#sign-out")
    assert "Weber Maschinenbau GmbH" in page.content()
    assert "alice@example.test" in page.inner_text("header")
    page.click("#sign-out")
    page.wait_for_selector("#sign-in")
    assert "Weber Maschinenbau GmbH" not in page.content()


def test_wrong_password_is_said_next_to_the_field(page: Page, live: Live) -> None:
    page.goto("/login")
    page.fill("input[name=email]", "alice@example.test")
    page.fill("input[name=password]", "not the password")
    page.click("#sign-in-submit")
    error = page.locator("#password-error")
    error.wait_for()
    assert error.inner_text() == "Wrong e-mail address or password."
    assert page.get_attribute("input[name=password]", "aria-invalid") == "true"
    assert page.locator("#sign-out").count() == 0
