"""The payer's page in real Chromium, in English and in German: each action submitted through its
form (CSRF token and all) changes the database and thanks the customer; a wrong date is told next
to its field. The page follows the customer's language, not the browser's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page
from sqlalchemy import select, update

from connector.db import Customer, Pause, Task
from tests.browser.conftest import Live
from tests.web.ledger_builders import Ledger, day, seed_ledger
from tests.web.test_portal_links import payer_path

CUSTOMER = "Due Today GmbH"
#: customer language → (browser locale, the amount of D-1 as the page writes it, the "paid" button)
LANGUAGES = {
    "en": ("de-DE", "€500.00", "Tell us you have paid"),
    "de": ("en-US", "500,00\xa0€", "Zahlung melden"),
}


def _open(live: Live, new_page: Callable[..., Page], language: str) -> tuple[Page, Ledger]:
    """Seed the ledger, set the customer's language, open its page in a browser of the other language."""
    ledger = seed_ledger(live.world)
    with live.world.sessions.begin() as session:
        session.execute(update(Customer).where(Customer.id == ledger.customers[CUSTOMER]).values(language=language))
    browser_locale, amount, button = LANGUAGES[language]
    page = new_page(browser_locale)
    page.goto(payer_path(live.world, ledger.org_id, ledger.customers[CUSTOMER]))
    assert page.locator("html").get_attribute("lang") == language
    assert amount in page.locator(f"#invoice-{ledger.invoices['D-1']}").inner_text()
    assert page.locator("#paid-submit").inner_text() == button
    return page, ledger


def _pauses(live: Live, ledger: Ledger) -> list[tuple[str, object, object]]:
    with live.world.sessions() as session:
        rows = session.scalars(select(Pause).where(Pause.customer_id == ledger.customers[CUSTOMER]))
        return [(p.kind, p.until_date, p.created_by) for p in rows]


def _thanked(page: Page) -> None:
    assert page.locator(".flash-success").count() == 1
    assert page.url.endswith("#top")


@pytest.mark.parametrize("language", ["en", "de"])
def test_i_have_paid(live: Live, new_page: Callable[..., Page], language: str) -> None:
    page, ledger = _open(live, new_page, language)
    page.fill("#paid-paid_date", day(-1).isoformat())
    page.fill("#paid-reference", "Überweisung 4711")
    with page.expect_navigation():
        page.click("#paid-submit")
    _thanked(page)
    assert _pauses(live, ledger) == [("hold", day(5), "payer")]
    with live.world.sessions() as session:
        task = session.scalars(select(Task).where(Task.customer_id == ledger.customers[CUSTOMER])).one()
    assert task.kind == "check_payment" and "Überweisung 4711" in task.title
    assert page.locator("#noted li").count() == 1


@pytest.mark.parametrize("language", ["en", "de"])
def test_i_dispute_an_invoice(live: Live, new_page: Callable[..., Page], language: str) -> None:
    page, ledger = _open(live, new_page, language)
    page.select_option("#dispute-invoice", str(ledger.invoices["D-1"]))
    page.fill("#dispute-reason", "Die Lieferung war unvollständig.")
    with page.expect_navigation():
        page.click("#dispute-submit")
    _thanked(page)
    assert _pauses(live, ledger) == [("dispute", None, "payer")]
    assert page.locator(f"#invoice-{ledger.invoices['D-1']} .badge").count() == 2  # overdue, being looked into


@pytest.mark.parametrize("language", ["en", "de"])
def test_i_will_pay_on_a_date(live: Live, new_page: Callable[..., Page], language: str) -> None:
    page, ledger = _open(live, new_page, language)
    page.fill("#promise-promise_date", day(14).isoformat())
    with page.expect_navigation():
        page.click("#promise-submit")
    _thanked(page)
    assert _pauses(live, ledger) == [("promise", day(14), "payer")]
    written = "24. März 2026" if language == "de" else "March 24, 2026"
    assert written in page.locator("#noted").inner_text()


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_promise_in_the_past_is_told_next_to_the_field(
    live: Live, new_page: Callable[..., Page], language: str
) -> None:
    page, ledger = _open(live, new_page, language)
    page.fill("#promise-promise_date", day(-1).isoformat())
    with page.expect_navigation():
        page.click("#promise-submit")
    errors = page.locator("#promise-promise_date-errors")
    assert errors.count() == 1 and errors.inner_text().strip()
    assert page.locator("#promise-promise_date").get_attribute("aria-invalid") == "true"
    assert page.locator("#promise-promise_date").input_value() == day(-1).isoformat()
    assert _pauses(live, ledger) == []
