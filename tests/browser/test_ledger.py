"""The ledger in real Chromium: a collector filters the invoices by aging bucket, opens an
invoice's "Why?", pauses it with a promise to pay (a promise without its date is refused next to
the field), sees the pause in the timeline and in "Why?", and lifts it.

The ledger is ``tests/web/ledger_builders.seed_ledger``: today (2026-03-10) D-1 of Due Today
GmbH, 10 days overdue, gets its first reminder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from playwright.sync_api import Page
from sqlalchemy import select

from connector.db import Activity, Pause
from tests.browser.conftest import Live
from tests.personas import NOW
from tests.web.ledger_builders import seed_ledger

TODAY_HEADLINE = "Today: email 'friendly_reminder' (step s1, level 1) for 500.00 EUR."


def text(page: Page, selector: str) -> str:
    """The visible text of ``selector``, spaces collapsed."""
    return " ".join(page.inner_text(selector).split())


def listed_invoices(page: Page) -> list[str]:
    return page.locator("#invoices tr[data-invoice] td:first-child").all_inner_texts()


def test_a_collector_filters_asks_why_pauses_on_a_promise_and_lifts_it(
    live: Live, sign_in: Callable[..., Page]
) -> None:
    ledger = seed_ledger(live.world)
    invoice_id = ledger.invoices["D-1"]
    page = sign_in("bob")

    # Filter by aging bucket through the form.
    page.goto(f"/orgs/{ledger.org_id}/invoices")
    assert len(listed_invoices(page)) == 7
    page.select_option("select[name=bucket]", "1-30")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "bucket=1-30" in page.url
    assert listed_invoices(page) == ["A-1001", "T-1", "D-1"]
    assert text(page, "#count") == "3 invoices match."
    assert page.locator("select[name=bucket] option:checked").inner_text() == "1–30 days overdue"

    # "Why?" on the invoice: a reminder today, and how the engine decided.
    with page.expect_navigation():
        page.click("#invoices a:text-is('D-1')")
    assert text(page, "#why .headline") == TODAY_HEADLINE
    assert page.locator("#why .checks li").first.is_visible()
    assert "✓ No pause is in force." in page.locator("#why .checks li").all_inner_texts()

    # A promise to pay needs its date: said next to the field, nothing stored.
    page.select_option("#pause-kind", "promise")
    page.fill("#pause-reason", "pays on the 20th")
    with page.expect_navigation():
        page.click("#pause-form button[type=submit]")
    assert page.locator("#pause-until_date-errors").is_visible()
    assert page.get_attribute("#pause-until_date", "aria-invalid") == "true"
    with live.world.sessions() as s:
        assert s.scalars(select(Pause).where(Pause.invoice_id == invoice_id)).first() is None

    # With the promised date: listed, in "Why?" and in the timeline.
    page.fill("#pause-until_date", "2026-03-20")
    with page.expect_navigation():
        page.click("#pause-form button[type=submit]")
    assert text(page, ".flashes") == "Pause added: this invoice is not chased while it lasts."
    assert text(page, "#pauses tr[data-pause]").startswith(
        "Promise to pay invoice D-1 Mar 10, 2026 Mar 20, 2026 pays on the 20th"
    )
    promised = "Nothing today: The customer promised to pay; we wait until the promised date."
    assert text(page, "#why .headline") == promised
    assert text(page, "#timeline .entry") == (
        "3/10/26, 9:30 AM Pause Bob · invoice D-1"
        " Pause (promise to pay) on invoice D-1, until 2026-03-20: pays on the 20th"
    )
    with live.world.sessions() as s:
        pause = s.scalars(select(Pause).where(Pause.invoice_id == invoice_id)).one()
        assert (pause.kind, pause.since_date, pause.until_date, pause.reason, pause.lifted_at) == (
            "promise",
            date(2026, 3, 10),
            date(2026, 3, 20),
            "pays on the 20th",
            None,
        )
        assert pause.created_by == str(live.user_id("bob"))

    # Lifted: chasing resumes, the timeline says so.
    with page.expect_navigation():
        page.click(f"#pauses tr[data-pause='{pause.id}'] button:has-text('Lift')")
    assert text(page, ".flashes") == "Pause lifted: chasing resumes with the next run."
    assert text(page, "#pauses tbody") == "No pause is in force."
    assert text(page, "#why .headline") == TODAY_HEADLINE
    entries = page.locator("#timeline .entry").all_inner_texts()
    assert len(entries) == 2 and "lifted" in entries[0].lower()
    with live.world.sessions() as s:
        assert s.get_one(Pause, pause.id).lifted_at == NOW
        kinds = s.scalars(select(Activity.kind).where(Activity.invoice_id == invoice_id).order_by(Activity.id))
        assert list(kinds)[-1] == "pause_lifted"


def test_why_on_a_customer_opens_to_how_the_engine_decided(live: Live, sign_in: Callable[..., Page]) -> None:
    ledger = seed_ledger(live.world)
    page = sign_in("alice", locale="de-DE")
    page.goto(f"/orgs/{ledger.org_id}/customers/{ledger.customers['Promise AG']}")
    checks = page.locator("#why .checks li")
    assert not checks.first.is_visible()
    page.click("#why summary")
    assert checks.first.is_visible()
    assert any(line.startswith("✗") for line in checks.all_inner_texts())
    assert page.locator("html").get_attribute("lang") == "de"
    assert "Zahlungszusage" in text(page, "#pauses")


def test_an_empty_note_is_said_next_to_its_field_in_the_ui_language(live: Live, sign_in: Callable[..., Page]) -> None:
    ledger = seed_ledger(live.world)
    page = sign_in("bob")
    page.goto(f"/orgs/{ledger.org_id}/customers/{ledger.customers['Tiny GmbH']}")
    with page.expect_navigation():
        page.click("#note-form button[type=submit]")
    assert text(page, "#note-text-errors") == "Write the note."
    assert page.get_attribute("#note-text", "aria-invalid") == "true"
    with live.world.sessions() as s:
        assert s.scalars(select(Activity).where(Activity.kind == "note")).first() is None
